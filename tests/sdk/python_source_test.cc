// python_source.hpp: tokens, literals, and what Module finds in code shaped like real projects'.
#include "ocifs/python_source.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace ocifs::sdk::python {
namespace {

std::vector<std::string> Texts(std::string_view source) {
  std::vector<std::string> out;
  for (const Token& t : Tokenize(source))
    out.push_back(t.kind == Kind::kNewline ? "NL" : std::string(t.text));
  return out;
}

using Strings = std::vector<std::string>;

TEST(PythonTokenizeTest, Cases) {
  struct Case {
    std::string name, source;
    Strings tokens;
  } cases[] = {
      {"assignment", "app = Flask(__name__)\n", {"app", "=", "Flask", "(", "__name__", ")", "NL"}},
      {"comment and blank lines", "# Flask(\n\nx = 1  # y = 2\n", {"x", "=", "1", "NL"}},
      {"brackets join lines",
       "x = f(\n  a,\n  b)\n",
       {"x", "=", "f", "(", "a", ",", "b", ")", "NL"}},
      {"backslash joins lines", "x = \\\n  1\n", {"x", "=", "1", "NL"}},
      {"docstring is one token",
       "\"\"\"app = Flask(\n\"\"\"\n",
       {"\"\"\"app = Flask(\n\"\"\"", "NL"}},
      {"prefixed strings", "rb'a' f\"{x}\" u'b'\n", {"rb'a'", "f\"{x}\"", "u'b'", "NL"}},
      {"escaped quote", "'it\\'s' x\n", {"'it\\'s'", "x", "NL"}},
      {"operators",
       "a == b != c := d -> e ** f\n",
       {"a", "==", "b", "!=", "c", ":=", "d", "->", "e", "**", "f", "NL"}},
      {"numbers", "x = 1.5e-3 + 0x1f\n", {"x", "=", "1.5e-3", "+", "0x1f", "NL"}},
      {"no final newline", "x", {"x", "NL"}},
      {"unterminated string ends at the line",
       "x = 'abc\ny\n",
       {"x", "=", "'abc", "NL", "y", "NL"}},
      {"CRLF", "x = 1\r\ny = 2\r\n", {"x", "=", "1", "NL", "y", "=", "2", "NL"}},
      {"empty", "", {}},
  };
  for (const Case& c : cases) EXPECT_EQ(Texts(c.source), c.tokens) << c.name;
}

TEST(PythonTokenizeTest, LinesAndIndentation) {
  auto tokens = Tokenize("def f():\n    x = (1,\n         2)\n\treturn x\n");
  ASSERT_GE(tokens.size(), 12u);
  EXPECT_EQ(tokens[0].line, 1);
  EXPECT_EQ(tokens[0].indent, 0);
  EXPECT_TRUE(tokens[0].line_start);
  const Token& x = tokens[6];
  EXPECT_EQ(x.text, "x");
  EXPECT_EQ(x.indent, 4);
  EXPECT_TRUE(x.line_start);
  const Token& two = tokens[11];
  EXPECT_EQ(two.text, "2");
  EXPECT_EQ(two.line, 3);
  EXPECT_FALSE(two.line_start);
  EXPECT_EQ(tokens[14].text, "return");
  EXPECT_EQ(tokens[14].indent, 8);  // a tab is 8 columns
}

TEST(PythonStringValueTest, Cases) {
  struct Case {
    std::string literal;
    std::optional<std::string> value;
  } cases[] = {
      {"'a'", "a"},         {"\"a\\nb\"", "a\nb"}, {"r'a\\nb'", "a\\nb"},    {"'''x'''", "x"},
      {"\"\"\"\"\"\"", ""}, {"'it\\'s'", "it's"},  {"f'{x}'", std::nullopt}, {"b'x'", std::nullopt},
      {"U'x'", "x"},
  };
  for (const Case& c : cases) {
    auto tokens = Tokenize(c.literal);
    ASSERT_FALSE(tokens.empty()) << c.literal;
    EXPECT_EQ(StringValue(tokens[0]), c.value) << c.literal;
  }
}

TEST(PythonLiteralTest, Cases) {
  auto parse = [](std::string_view text) {
    auto tokens = Tokenize(text);
    size_t i = 0;
    Literal lit = ParseLiteral(tokens, i);
    return std::make_pair(lit, i);
  };
  auto [s, i1] = parse("'a' 'b', x");
  EXPECT_EQ(s.type, Literal::Type::kString);
  EXPECT_EQ(s.text, "ab");
  EXPECT_EQ(i1, 2u);
  auto [d, i2] = parse("{'console_scripts': ['app = app.cli:main', \"x=y:z\"], 'k': f(1)}");
  ASSERT_EQ(d.type, Literal::Type::kDict);
  const Literal* scripts = d.Get("console_scripts");
  ASSERT_NE(scripts, nullptr);
  ASSERT_EQ(scripts->items.size(), 2u);
  EXPECT_EQ(scripts->items[1].text, "x=y:z");
  ASSERT_NE(d.Get("k"), nullptr);
  EXPECT_EQ(d.Get("k")->type, Literal::Type::kOther);
  auto [other, i3] = parse("'a' + x, 2");
  EXPECT_EQ(other.type, Literal::Type::kOther);
  EXPECT_EQ(i3, 3u);  // at the comma
  auto [comp, i4] = parse("[x for x in y]");
  EXPECT_EQ(comp.type, Literal::Type::kOther);
  auto [deep, i5] = parse(std::string(200, '[') + std::string(200, ']'));
  EXPECT_EQ(i5, 400u);  // nested too deep: the innermost skipped, not recursed into
  auto [tuple, i6] = parse("(True, None, 3,)");
  ASSERT_EQ(tuple.type, Literal::Type::kList);
  ASSERT_EQ(tuple.items.size(), 3u);
  EXPECT_EQ(tuple.items[0].type, Literal::Type::kBool);
  EXPECT_EQ(tuple.items[1].type, Literal::Type::kNone);
}

TEST(PythonModuleTest, FindsAssignmentsInFunctionsBehindDecoratorsAndAcrossLines) {
  Module m(R"py("""The application factory.

app = Flask(__name__) in a docstring is not an assignment.
"""
import os
from flask import (
    Flask,
    jsonify as j,
)
from . import views


def helper(x, y=1): return x


@some.decorator(option=True)
def create_app(config=None) -> "Flask":
    app = \
        Flask(
            __name__,
            instance_relative_config=True,
        )
    return app


class Config:
    app = Flask("inside a class")
    def method(self, name):
        server = fastapi.FastAPI()

application: "Flask" = create_app()
if __name__ == "__main__":
    application.run(host="127.0.0.1", port=5000)
)py");
  ASSERT_EQ(m.functions().size(), 3u);
  EXPECT_EQ(m.functions()[0].name, "helper");
  EXPECT_TRUE(m.functions()[0].required_params);
  EXPECT_EQ(m.functions()[1].name, "create_app");
  EXPECT_FALSE(m.functions()[1].required_params);
  EXPECT_EQ(m.functions()[2].name, "method");
  EXPECT_EQ(m.functions()[2].scope, "Config");
  EXPECT_TRUE(m.functions()[2].required_params);
  ASSERT_NE(m.FindFunction("create_app"), nullptr);
  EXPECT_EQ(m.FindFunction("method"), nullptr);  // a method, not a module function

  struct Want {
    std::string target, callee, function;
    bool module_level;
    int line;
  };
  std::vector<Want> want = {{"app", "Flask", "create_app", false, 18},
                            {"app", "Flask", "", false, 27},
                            {"server", "fastapi.FastAPI", "method", false, 29},
                            {"application", "create_app", "", true, 31}};
  ASSERT_EQ(m.assignments().size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    const auto& a = m.assignments()[i];
    EXPECT_EQ(a.target, want[i].target) << i;
    EXPECT_EQ(a.callee, want[i].callee) << i;
    EXPECT_EQ(a.function, want[i].function) << i;
    EXPECT_EQ(a.module_level, want[i].module_level) << i;
    EXPECT_EQ(a.line, want[i].line) << i;
  }
  EXPECT_TRUE(m.Imports("flask"));
  EXPECT_TRUE(m.Imports("os"));
  EXPECT_FALSE(m.Imports("fastapi"));
  ASSERT_EQ(m.imports().size(), 3u);
  EXPECT_EQ(m.imports()[1].names, (Strings{"Flask", "jsonify"}));
  EXPECT_EQ(m.imports()[2].module, ".");

  const Module::Call* run = nullptr;
  for (const auto& c : m.calls()) {
    if (c.callee == "application.run") run = &c;
  }
  ASSERT_NE(run, nullptr);
  EXPECT_TRUE(run->module_level);
  auto args = m.Arguments(*run);
  ASSERT_EQ(args.size(), 2u);
  EXPECT_EQ(args[0].first, "host");
  EXPECT_EQ(args[0].second.text, "127.0.0.1");
  EXPECT_EQ(args[1].second.text, "5000");
}

TEST(PythonModuleTest, ReadsSetupCallArguments) {
  Module m(R"py(from setuptools import setup, find_packages
reqs = open("requirements.txt").read().splitlines()
NAME = "shop"
setup(
    name=NAME,
    version="1.2",
    install_requires=reqs,
    *extra,
    entry_points={
        "console_scripts": [
            "shop = shop.cli:main",  # the server
        ],
    },
    python_requires=">=3.10",
)
)py");
  const Module::Call* setup = nullptr;
  for (const auto& c : m.calls()) {
    if (c.callee == "setup") setup = &c;
  }
  ASSERT_NE(setup, nullptr);
  auto args = m.Arguments(*setup);
  std::map<std::string, Literal> by_key;
  for (auto& [k, v] : args) by_key[k] = v;
  EXPECT_EQ(by_key["name"].text, "shop");
  EXPECT_EQ(by_key["install_requires"].type, Literal::Type::kOther);
  EXPECT_EQ(by_key["python_requires"].text, ">=3.10");
  const Literal* scripts = by_key["entry_points"].Get("console_scripts");
  ASSERT_NE(scripts, nullptr);
  ASSERT_EQ(scripts->items.size(), 1u);
  EXPECT_EQ(scripts->items[0].text, "shop = shop.cli:main");
}

TEST(PythonModuleTest, NeverFailsOnTextThatIsNotPython) {
  for (std::string_view text : {"\"\"\"", "def", "def f(", "x = (((", ")))", "a = b(", "\\", "from",
                                "import", "@", "class X(", "x: = 1", "'\\"}) {
    Module m(text);
    for (const auto& c : m.calls()) (void)m.Arguments(c);
  }
}

}  // namespace
}  // namespace ocifs::sdk::python
