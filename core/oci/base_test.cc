#include "core/oci/base.h"

#include <filesystem>
#include <functional>
#include <span>
#include <string>

#include <gtest/gtest.h>

#include "core/oci/base_test_util.h"
#include "core/support/test_util.h"

namespace ocifs {
namespace {

namespace fs = std::filesystem;

const Platform kAmd64{"linux", "amd64", ""};

Result<BaseImage> ResolveLayout(const std::string& reference, const Platform& platform = kAmd64) {
  OCIFS_ASSIGN_OR_RETURN(auto source, OpenLayoutBase(reference));
  return source->Resolve(platform);
}

TEST(LayoutBaseTest, ResolvesTheTaggedManifestOfThePlatform) {
  for (bool multi : {false, true}) {
    BaseLayout base(multi);
    for (const std::string& ref :
         {"oci:" + base.dir.path(), "oci:" + base.dir.path() + ":3.11-slim"}) {
      auto b = ResolveLayout(ref);
      ASSERT_TRUE(b.ok()) << ref << ": " << b.status().message();
      EXPECT_EQ(b->reference, ref);
      EXPECT_EQ(b->manifest_digest, base.manifest_amd64);
      ASSERT_EQ(b->layers.size(), 1u);
      EXPECT_EQ(b->layers[0].descriptor.digest, base.layer);
      EXPECT_EQ(b->layers[0].diff_id, base.layer);
      EXPECT_EQ(b->config["config"]["Labels"]["base"], "yes");
      std::string bytes(b->layers[0].blob->size(), '\0');
      ASSERT_TRUE(b->layers[0].blob->ReadAt(0, std::as_writable_bytes(std::span(bytes))).ok());
      EXPECT_EQ(bytes, std::string(2048, 'L'));
    }
  }
}

TEST(LayoutBaseTest, ACorruptLayerFailsEveryRead) {
  BaseLayout base(false);
  auto b = ResolveLayout("oci:" + base.dir.path());
  ASSERT_TRUE(b.ok()) << b.status().message();
  // Same size, other bytes: only hashing can tell.
  base.dir.Write("blobs/sha256/" + base.layer.hex(), std::string(2047, 'L') + "X");
  std::string bytes(16, '\0');
  for (int i = 0; i < 2; ++i) {
    Status s = b->layers[0].blob->ReadAt(0, std::as_writable_bytes(std::span(bytes)));
    EXPECT_EQ(s.code(), Code::kCorrupt) << s.message();
    EXPECT_NE(s.message().find(base.layer.hex()), std::string::npos) << s.message();
  }
}

TEST(LayoutBaseTest, BadLayoutsAndReferences) {
  struct Case {
    std::string what;
    std::function<std::string(BaseLayout&)> ref;  // may break the layout, returns the reference
    std::string want;
    Platform platform = kAmd64;
  };
  const Case cases[] = {
      {"not a layout",
       [](BaseLayout& b) {
         fs::remove(b.dir.path() + "/oci-layout");
         return "oci:" + b.dir.path();
       },
       "is not an OCI image layout"},
      {"missing directory", [](BaseLayout& b) { return "oci:" + b.dir.path() + "/nope"; },
       "does not exist"},
      {"unknown tag", [](BaseLayout& b) { return "oci:" + b.dir.path() + ":3.12"; },
       "no tag `3.12`"},
      {"missing layer blob",
       [](BaseLayout& b) {
         fs::remove(b.dir.path() + "/blobs/sha256/" + b.layer.hex());
         return "oci:" + b.dir.path();
       },
       "is missing"},
      {"corrupt manifest",
       [](BaseLayout& b) {
         b.dir.Write("blobs/sha256/" + b.manifest_amd64.hex(), "{}");
         return "oci:" + b.dir.path();
       },
       "is "},
      {"index.json without manifests",
       [](BaseLayout& b) {
         b.dir.Write("index.json", R"({"schemaVersion": 2})");
         return "oci:" + b.dir.path();
       },
       "index.json has no `manifests` array"},
      {"empty tag", [](BaseLayout& b) { return "oci:" + b.dir.path() + ":"; },
       "empty tag after `:`"},
      {"empty path", [](BaseLayout&) { return std::string("oci:"); }, "want oci:PATH[:TAG]"},
      {"not a layout reference", [](BaseLayout&) { return std::string("python:3.12"); },
       "want oci:PATH[:TAG]"},
      {"a platform the layout lacks", [](BaseLayout& b) { return "oci:" + b.dir.path(); },
       "is linux/amd64, but the image is for linux/s390x", Platform{"linux", "s390x", ""}},
  };
  for (const auto& c : cases) {
    BaseLayout base(false);
    auto b = ResolveLayout(c.ref(base), c.platform);
    ASSERT_FALSE(b.ok()) << c.what;
    EXPECT_NE(b.status().message().find(c.want), std::string::npos)
        << c.what << ": " << b.status().message();
  }
  // Of an index of several platforms, the error lists the platforms it has.
  BaseLayout multi(true);
  auto b = ResolveLayout("oci:" + multi.dir.path(), Platform{"linux", "s390x", ""});
  ASSERT_FALSE(b.ok());
  EXPECT_NE(
      b.status().message().find("no manifest for linux/s390x (it has: linux/arm64, linux/amd64)"),
      std::string::npos)
      << b.status().message();
}

}  // namespace
}  // namespace ocifs
