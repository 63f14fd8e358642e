#include "documents.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace ocifs::sbom {
namespace {

using json = nlohmann::json;

TEST(DocumentsTest, Uuid5AndPurlEncoding) {
  EXPECT_EQ(Uuid5("http://www.python.org"), "5e077b6f-5fcc-5a59-b52a-0092db3520c3");
  EXPECT_EQ(Uuid5(""), "1b4db7eb-4057-5ddf-91e0-36dec72071f5");
  EXPECT_EQ(PurlEncode("1:2.38.1-5+b1"), "1:2.38.1-5%2Bb1");
  EXPECT_EQ(PurlEncode("a b/c@d?e#f"), "a%20b%2Fc%40d%3Fe%23f");
}

Sbom SmallSbom() {
  Sbom s;
  s.name = "svc";
  s.version = "1.0";
  s.created = "2023-11-14T22:13:20Z";
  s.tool_version = "1.0.0";
  Component app;
  app.kind = Component::Kind::kApplication;
  app.key = "application";
  app.name = "svc";
  app.version = "1.0";
  app.license = "MIT";
  app.depends_on = {"pypi/click"};
  Component click;
  click.key = "pypi/click";
  click.name = "click";
  click.version = "8.1.3";
  click.purl = "pkg:pypi/click@8.1.3";
  click.license_name = "BSD";
  click.summary = "Composable";
  click.homepage = "https://palletsprojects.com/p/click/";
  s.components = {app, click};
  return s;
}

TEST(DocumentsTest, SpdxDocumentIsDeterministicAndNamedByItsContent) {
  const Sbom s = SmallSbom();
  const json doc = json::parse(SpdxJson(s));
  EXPECT_EQ(SpdxJson(s), SpdxJson(SmallSbom()));
  EXPECT_EQ(doc["spdxVersion"], "SPDX-2.3");
  EXPECT_EQ(doc["creationInfo"]["created"], "2023-11-14T22:13:20Z");
  ASSERT_EQ(doc["packages"].size(), 3u);
  EXPECT_EQ(doc["packages"][1]["SPDXID"], "SPDXRef-Application");
  EXPECT_EQ(doc["packages"][1]["licenseDeclared"], "MIT");
  EXPECT_EQ(doc["packages"][2]["SPDXID"], "SPDXRef-Package-pypi-click");
  EXPECT_EQ(doc["packages"][2]["licenseDeclared"], "NOASSERTION");
  EXPECT_EQ(doc["packages"][2]["externalRefs"][0]["referenceLocator"], "pkg:pypi/click@8.1.3");
  const json want_relationships = json::parse(R"([
    {"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES", "relatedSpdxElement": "SPDXRef-Image"},
    {"spdxElementId": "SPDXRef-Image", "relationshipType": "CONTAINS", "relatedSpdxElement": "SPDXRef-Application"},
    {"spdxElementId": "SPDXRef-Image", "relationshipType": "CONTAINS", "relatedSpdxElement": "SPDXRef-Package-pypi-click"},
    {"spdxElementId": "SPDXRef-Application", "relationshipType": "DEPENDS_ON", "relatedSpdxElement": "SPDXRef-Package-pypi-click"}
  ])");
  EXPECT_EQ(doc["relationships"], want_relationships);
  // The namespace changes with the content, and only with it.
  const std::string ns = doc["documentNamespace"];
  EXPECT_TRUE(ns.starts_with("https://spdx.org/spdxdocs/svc-1.0-")) << ns;
  Sbom changed = SmallSbom();
  changed.components[1].version = "8.1.4";
  EXPECT_NE(json::parse(SpdxJson(changed))["documentNamespace"], ns);
}

TEST(DocumentsTest, CycloneDxDocument) {
  const Sbom s = SmallSbom();
  const json doc = json::parse(CycloneDxJson(s, "1.5"));
  EXPECT_EQ(CycloneDxJson(s, "1.5"), CycloneDxJson(SmallSbom(), "1.5"));
  EXPECT_EQ(doc["specVersion"], "1.5");
  EXPECT_EQ(json::parse(CycloneDxJson(s, "1.6"))["specVersion"], "1.6");
  const std::string serial = doc["serialNumber"];
  EXPECT_TRUE(serial.starts_with("urn:uuid:")) << serial;
  EXPECT_EQ(serial[9 + 14], '5') << serial;  // version 5
  EXPECT_EQ(doc["metadata"]["component"]["bom-ref"], "image");
  EXPECT_EQ(doc["components"][0]["licenses"], json::parse(R"([{"license": {"id": "MIT"}}])"));
  EXPECT_EQ(doc["components"][1]["licenses"], json::parse(R"([{"license": {"name": "BSD"}}])"));
  EXPECT_EQ(doc["components"][1]["bom-ref"], "pkg:pypi/click@8.1.3");
  EXPECT_EQ(doc["dependencies"], json::parse(R"([
    {"ref": "image", "dependsOn": ["application"]},
    {"ref": "application", "dependsOn": ["pkg:pypi/click@8.1.3"]}])"));
  Sbom expression = SmallSbom();
  expression.components[0].license = "MIT OR Apache-2.0";
  EXPECT_EQ(json::parse(CycloneDxJson(expression, "1.5"))["components"][0]["licenses"],
            json::parse(R"([{"expression": "MIT OR Apache-2.0"}])"));
}

}  // namespace
}  // namespace ocifs::sbom
