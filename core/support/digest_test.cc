#include "core/support/digest.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace ocifs {
namespace {

TEST(DigestTest, KnownVectors) {
  struct Case {
    std::string input;
    std::string hex;
  };
  const Case cases[] = {
      {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
      {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
      {std::string(1000000, 'a'),
       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(Digest::Of(c.input).hex(), c.hex) << c.input.size() << " bytes";
    // Streaming in uneven pieces gives the same digest.
    Sha256 h;
    for (size_t i = 0; i < c.input.size(); i += 7777)
      h.Update(std::string_view(c.input).substr(i, 7777));
    EXPECT_EQ(h.Finish().hex(), c.hex);
  }
}

// The first hashers of a process race PrepareSha256 (a mount loads SHA-256 on a thread of its own
// while it plans): every one gets the one loaded digest and hashes right. This is the first use of
// SHA-256 in this test binary only when run alone, as ctest runs it (gtest_discover_tests).
TEST(DigestTest, HashersRacingTheLoadHashRight) {
  std::vector<std::string> got(8);
  {
    std::vector<std::jthread> threads;
    for (size_t i = 0; i < got.size(); ++i) {
      threads.emplace_back([&got, i] {
        if (i % 2 == 0) PrepareSha256();
        got[i] = Digest::Of("abc").hex();
      });
    }
  }
  for (const std::string& hex : got)
    EXPECT_EQ(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(DigestTest, Parse) {
  const std::string hex(64, 'a');
  struct Case {
    std::string text;
    bool ok;
  };
  const Case cases[] = {
      {"sha256:" + hex, true},
      {"sha256:" + std::string(63, 'a'), false},
      {"sha256:" + std::string(64, 'A'), false},  // uppercase is not canonical
      {"sha512:" + hex, false},
      {hex, false},
      {"sha256:" + std::string(63, 'a') + "g", false},
      {"", false},
  };
  for (const auto& c : cases) {
    auto d = Digest::Parse(c.text);
    EXPECT_EQ(d.ok(), c.ok) << c.text;
    if (d.ok()) {
      EXPECT_EQ(d->str(), c.text);
    }
    if (!d.ok()) {
      EXPECT_NE(d.status().message().find(c.text), std::string::npos)
          << "the message names the input";
    }
  }
}

}  // namespace
}  // namespace ocifs
