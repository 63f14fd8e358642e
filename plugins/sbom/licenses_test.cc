#include "licenses.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace ocifs::sbom {
namespace {

TEST(LicensesTest, Expressions) {
  struct Case {
    std::string in;
    std::optional<std::string> want;
  } cases[] = {
      {"MIT", "MIT"},
      {"mit", "MIT"},
      {"apache-2.0 or mit", "Apache-2.0 OR MIT"},
      {"(MIT OR Apache-2.0) AND BSD-3-Clause", "(MIT OR Apache-2.0) AND BSD-3-Clause"},
      {"GPL-2.0-or-later WITH Classpath-exception-2.0",
       "GPL-2.0-or-later WITH Classpath-exception-2.0"},
      {"LGPL-2.1+", "LGPL-2.1+"},
      {"LicenseRef-Proprietary", "LicenseRef-Proprietary"},
      {"MIT License", std::nullopt},
      {"MIT OR", std::nullopt},
      {"(MIT", std::nullopt},
      {"MIT WITH NotAnException", std::nullopt},
      {"", std::nullopt},
  };
  for (const auto& c : cases) EXPECT_EQ(CanonicalExpression(c.in), c.want) << c.in;
  EXPECT_EQ(SpdxId("bsd-3-clause"), std::optional<std::string_view>("BSD-3-Clause"));
  EXPECT_FALSE(SpdxId("BSD"));
}

TEST(LicensesTest, FreeText) {
  struct Case {
    std::string in;
    std::optional<std::string> want;
  } cases[] = {
      {"MIT", "MIT"},
      {"MIT License", "MIT"},
      {"The MIT License", "MIT"},
      {"BSD-3-Clause", "BSD-3-Clause"},
      {"Apache License, Version 2.0", "Apache-2.0"},
      {"Apache 2.0", "Apache-2.0"},
      {"MIT -or- Apache License 2.0", "MIT OR Apache-2.0"},
      {"MIT and BSD-3-Clause", "MIT AND BSD-3-Clause"},
      {"BSD", std::nullopt},
      {"GPL", std::nullopt},
      {"MIT or something else", std::nullopt},
      {"Copyright (c) 2020 Someone\nPermission is hereby granted", std::nullopt},
  };
  for (const auto& c : cases) EXPECT_EQ(ExpressionFromText(c.in), c.want) << c.in;
}

TEST(LicensesTest, Classifiers) {
  const std::string osi = "License :: OSI Approved :: ";
  struct Case {
    std::vector<std::string> in;
    std::optional<std::string> want;
  } cases[] = {
      {{osi + "MIT License", "Programming Language :: Python"}, "MIT"},
      {{"License :: OSI Approved", osi + "MIT License"}, "MIT"},
      {{osi + "BSD License"}, std::nullopt},              // 2-, 3- or 4-clause
      {{osi + "Apache Software License"}, std::nullopt},  // which version
      {{osi + "MIT License", osi + "Apache Software License"}, std::nullopt},
      {{osi + "MIT License", osi + "ISC License (ISCL)"}, std::nullopt},  // AND or OR
      {{"License :: CC0 1.0 Universal (CC0 1.0) Public Domain Dedication"}, "CC0-1.0"},
      {{}, std::nullopt},
  };
  for (const auto& c : cases) EXPECT_EQ(ExpressionFromClassifiers(c.in), c.want) << c.in.size();
}

TEST(LicensesTest, DeclaredLicensePrefersTheExpressionThenTheTextThenClassifiers) {
  const std::string mit = "Classifier: License :: OSI Approved :: MIT License\n";
  struct Case {
    std::string metadata;
    std::string expression, name;
  } cases[] = {
      {"License-Expression: Apache-2.0\nLicense: MIT\n" + mit, "Apache-2.0", ""},
      {"License-Expression: not valid\nLicense: ISC\n", "ISC", ""},
      {"License: Apache 2.0\n" + mit, "Apache-2.0", ""},
      {"License: BSD\n" + mit, "MIT", ""},
      {"License: BSD\nClassifier: License :: OSI Approved :: BSD License\n", "", "BSD"},
      {"Classifier: License :: OSI Approved :: BSD License\n", "", "BSD License"},
      {"License: UNKNOWN\n", "", ""},
      {"", "", ""},
  };
  for (const auto& c : cases) {
    DeclaredLicense d = LicenseOf(ParseHeaders(c.metadata));
    EXPECT_EQ(d.expression, c.expression) << c.metadata;
    EXPECT_EQ(d.name, c.name) << c.metadata;
  }
}

}  // namespace
}  // namespace ocifs::sbom
