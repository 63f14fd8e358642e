#include "core/oci/digest_cache.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include "core/oci/layer.h"
#include "core/support/test_util.h"

namespace ocifs {
namespace {

namespace fs = std::filesystem;

Digest Key(int i) { return Digest::Of("key " + std::to_string(i)); }
Digest Value(int i) { return Digest::Of("value " + std::to_string(i)); }

std::string EntryPath(const DigestCache& c, const Digest& key) {
  return c.dir() + "/digests/" + key.hex().substr(0, 2) + "/" + key.hex();
}

TEST(DigestCacheTest, StoreAndLookup) {
  TempDir d;
  auto c = DigestCache::Open(d.path() + "/cache");
  ASSERT_TRUE(c.ok()) << c.status().message();
  std::vector<std::string> warnings;
  EXPECT_FALSE((*c)->Lookup(Key(1), &warnings).has_value());
  ASSERT_TRUE((*c)->Store(Key(1), {Value(1), 1234}).ok());
  auto e = (*c)->Lookup(Key(1), &warnings);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->digest, Value(1));
  EXPECT_EQ(e->size, 1234u);
  EXPECT_TRUE(warnings.empty());
  EXPECT_EQ((*c)->hits(), 1u);
  EXPECT_EQ((*c)->misses(), 1u);
  // No temporary file is left behind.
  auto stats = (*c)->Scan();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->entries, 1u);
}

TEST(DigestCacheTest, CorruptEntriesAreIgnoredWithAWarningAndRemoved) {
  struct Case {
    std::string what;
    std::function<std::string(const std::string&)> damage;  // from the good text to a bad one
  };
  const Case cases[] = {
      {"truncated", [](const std::string& t) { return t.substr(0, t.size() / 2); }},
      {"empty", [](const std::string&) { return std::string(); }},
      {"a flipped digest character",
       [](const std::string& t) {
         std::string b = t;
         size_t at = b.find("digest sha256:") + 20;
         b[at] = b[at] == 'a' ? 'b' : 'a';
         return b;
       }},
      {"another key's entry",
       [](const std::string& t) {
         std::string b = t;
         size_t at = b.find("key sha256:") + 11;
         b.replace(at, 64, Key(2).hex());
         return b;
       }},
      {"garbage",
       [](const std::string&) {
         return std::string(
             "\x7f"
             "ELF\0\0\0",
             7);
       }},
  };
  for (const auto& c : cases) {
    TempDir d;
    auto cache = DigestCache::Open(d.path());
    ASSERT_TRUE(cache.ok());
    ASSERT_TRUE((*cache)->Store(Key(1), {Value(1), 99}).ok());
    const std::string path = EntryPath(**cache, Key(1));
    std::string good = ReadFileOrDie(path);
    std::ofstream(path, std::ios::binary | std::ios::trunc) << c.damage(good);
    std::vector<std::string> warnings;
    EXPECT_FALSE((*cache)->Lookup(Key(1), &warnings).has_value()) << c.what;
    ASSERT_EQ(warnings.size(), 1u) << c.what;
    EXPECT_NE(warnings[0].find("corrupt digest cache entry"), std::string::npos) << warnings[0];
    EXPECT_NE(warnings[0].find(path), std::string::npos);
    EXPECT_FALSE(fs::exists(path)) << c.what << ": a corrupt entry is removed";
  }
}

TEST(DigestCacheTest, BoundedWithLeastRecentlyUsedEviction) {
  TempDir d;
  // Every entry takes one 4 KiB block on the usual file systems: room for about 4 entries.
  auto c = DigestCache::Open(d.path(), 4 * 4096);
  ASSERT_TRUE(c.ok());
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE((*c)->Store(Key(i), {Value(i), 1}).ok());
    // Distinct ages, oldest first: entry i was last used i hours after entry 0.
    struct timespec times[2] = {{0, UTIME_OMIT}, {1'700'000'000 + i * 3600, 0}};
    ASSERT_EQ(::utimensat(AT_FDCWD, EntryPath(**c, Key(i)).c_str(), times, 0), 0);
  }
  auto before = (*c)->Scan();
  ASSERT_TRUE(before.ok());
  const uint64_t per_entry = before->bytes / before->entries;
  ASSERT_GT(per_entry, 0u);
  // Using entry 0 makes it the most recent; storing a fifth pushes out the least recent (entry 1).
  std::vector<std::string> warnings;
  ASSERT_TRUE((*c)->Lookup(Key(0), &warnings).has_value());
  ASSERT_TRUE((*c)->Store(Key(4), {Value(4), 1}).ok());
  auto after = (*c)->Scan();
  ASSERT_TRUE(after.ok());
  EXPECT_LE(after->bytes, (*c)->max_bytes());
  EXPECT_TRUE(fs::exists(EntryPath(**c, Key(0))));
  EXPECT_FALSE(fs::exists(EntryPath(**c, Key(1))));
  EXPECT_TRUE(fs::exists(EntryPath(**c, Key(4))));
  // Prune to nothing empties it.
  auto empty = (*c)->Prune(0);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->entries, 0u);
  EXPECT_EQ((*c)->Scan()->entries, 0u);
}

TEST(DigestCacheTest, ParseByteSize) {
  struct Case {
    std::string text;
    uint64_t bytes;  // 0 = error
  };
  const Case cases[] = {{"1024", 1024},     {"4K", 4096},       {"256M", 256ULL << 20},
                        {"2g", 2ULL << 30}, {"1T", 1ULL << 40}, {"", 0},
                        {"M", 0},           {"12X", 0},         {"-1", 0},
                        {"1.5G", 0}};
  for (const auto& c : cases) {
    auto got = ParseByteSize(c.text);
    EXPECT_EQ(got.ok() ? *got : 0, c.bytes) << c.text;
  }
}

}  // namespace
}  // namespace ocifs
