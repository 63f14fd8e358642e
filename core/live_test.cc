#include "core/live.h"

#include <gtest/gtest.h>

#include <thread>

#include "core/test_util.h"

namespace ocifs {
namespace {

using namespace std::chrono_literals;

// Runs a LiveImage on a real temporary project and records what it publishes.
class LiveFixture {
 public:
  explicit LiveFixture(const TempDir& dir) {
    dir.Write("pyproject.toml",
              "[project]\nname = \"live\"\n[project.scripts]\nlive = \"live.cli:main\"\n");
    dir.Write("live/__init__.py", "");
    dir.Write("live/cli.py", "def main():\n    print(1)\n");
    ResolveInputs in;
    in.project_dir = dir.path();
    in.flags.base = "scratch";
    in.source_date_epoch = "0";
    auto plan = PlanProject(in);
    EXPECT_TRUE(plan.ok()) << plan.status().message();
    LiveOptions o;
    o.inputs = in;
    o.quiet = 30ms;
    o.max_delay = 300ms;
    auto cache = DigestCache::Open(cache_dir_.path());
    EXPECT_TRUE(cache.ok());
    o.cache = std::move(cache).value();
    o.log = [this](LogLevel, const std::string& m) {
      std::lock_guard lock(mu_);
      log_.push_back(m);
    };
    live_ = std::make_unique<LiveImage>(std::move(plan).value(), std::move(o));
    thread_ = std::thread([this] {
      live_->Run([this](Result<std::shared_ptr<const Generation>> g) {
        std::lock_guard lock(mu_);
        EXPECT_TRUE(g.ok()) << g.status().message();
        if (g.ok()) published_.push_back(*g);
        cv_.notify_all();
      });
    });
  }
  ~LiveFixture() {
    live_->Stop();
    thread_.join();
  }

  // Waits (bounded) until `n` generations were published; returns how many there are.
  size_t WaitFor(size_t n, std::chrono::milliseconds limit = 10s) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, limit, [&] { return published_.size() >= n; });
    return published_.size();
  }
  std::shared_ptr<const Generation> Get(size_t i) {
    std::lock_guard lock(mu_);
    return published_.at(i);
  }

 private:
  TempDir cache_dir_;
  std::unique_ptr<LiveImage> live_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::shared_ptr<const Generation>> published_;
  std::vector<std::string> log_;
};

TEST(LiveTest, AnEditMakesANewGenerationAndIgnoredChangesDoNot) {
  TempDir dir;
  LiveFixture live(dir);
  ASSERT_EQ(live.WaitFor(1), 1u);
  const Digest first_layer = live.Get(0)->own_layers().back().descriptor.digest;

  // Changes under ignored paths publish nothing.
  dir.Write("live/__pycache__/cli.cpython-311.pyc", "junk");
  dir.Write(".git/HEAD", "ref: refs/heads/main\n");
  EXPECT_EQ(live.WaitFor(2, 400ms), 1u);

  // An edit does.
  dir.Write("live/cli.py", "def main():\n    print(2)\n");
  ASSERT_EQ(live.WaitFor(2), 2u);
  EXPECT_NE(live.Get(1)->own_layers().back().descriptor.digest, first_layer);
  EXPECT_EQ(live.Get(1)->number(), 2u);

  // A file in a directory made after the watch started is seen too.
  dir.Write("live/sub/new.py", "x = 1\n");
  ASSERT_EQ(live.WaitFor(3), 3u);
  bool found = false;
  const Blob* layer =
      live.Get(2)->FindBlob(live.Get(2)->own_layers().back().descriptor.digest.hex());
  ASSERT_NE(layer, nullptr);
  std::string bytes(layer->size(), '\0');
  ASSERT_TRUE(layer->ReadAt(0, std::as_writable_bytes(std::span(bytes))).ok());
  found = bytes.find("app/live/sub/new.py") != std::string::npos;
  EXPECT_TRUE(found);
}

TEST(LiveTest, ABurstOfWritesSettlesIntoOneGeneration) {
  TempDir dir;
  LiveFixture live(dir);
  ASSERT_EQ(live.WaitFor(1), 1u);
  for (int i = 0; i < 5; ++i)
    dir.Write("live/cli.py", "def main():\n    print(" + std::to_string(i) + ")\n");
  ASSERT_GE(live.WaitFor(2), 2u);
  EXPECT_EQ(live.WaitFor(3, 500ms), 2u) << "five quick writes: one new generation";
}

TEST(LiveTest, ATouchThatChangesNoByteLeavesTheImageAlone) {
  TempDir dir;
  LiveFixture live(dir);
  ASSERT_EQ(live.WaitFor(1), 1u);
  dir.Write("live/cli.py", "def main():\n    print(1)\n");  // the same content again
  EXPECT_EQ(live.WaitFor(2, 600ms), 1u);
}

}  // namespace
}  // namespace ocifs
