#include "core/live/live.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <sys/inotify.h>
#include <unistd.h>

#include <functional>
#include <thread>

#include "core/live/mount_status.h"
#include "core/support/test_util.h"
#include "core/support/unique_fd.h"

namespace ocifs {
namespace {

using namespace std::chrono_literals;

// Runs a LiveImage on a real temporary project and records what it publishes.
class LiveFixture {
 public:
  // `tool_ocifs`: pyproject.toml text after the [project] tables (variants, say).
  // `status_file`: where the status file goes ("" = none).
  explicit LiveFixture(const TempDir& dir, const std::string& deps = "",
                       const std::string& tool_ocifs = "", const std::string& status_file = "") {
    dir.Write(
        "pyproject.toml",
        "[project]\nname = \"live\"\n[project.scripts]\nlive = \"live.cli:main\"\n" + tool_ocifs);
    dir.Write("live/__init__.py", "");
    dir.Write("live/cli.py", "def main():\n    print(1)\n");
    PlanInputs in;
    in.project_dir = dir.path();
    in.flags.base = "scratch";
    in.source_date_epoch = "0";
    if (!deps.empty()) {
      in.flags.deps = deps;
      in.flags.python = "3.11";
    }
    auto plan = PlanProject(in);
    EXPECT_TRUE(plan.ok()) << plan.status().message();
    LiveOptions o;
    o.inputs = in;
    o.quiet = 30ms;
    o.max_delay = 300ms;
    o.status_file = status_file;
    auto cache = DigestCache::Open(cache_dir_.path());
    EXPECT_TRUE(cache.ok());
    o.cache = std::move(cache).value();
    o.log = [this](LogLevel, const std::string& m) {
      std::lock_guard lock(mu_);
      log_.push_back(m);
    };
    live_ = std::make_unique<LiveImage>(std::move(plan).value(), std::move(o));
    thread_ = std::thread([this] {
      live_->Run({.publish = [this](Result<std::shared_ptr<const Generation>> g) {
        std::lock_guard lock(mu_);
        EXPECT_TRUE(g.ok()) << g.status().message();
        if (g.ok()) published_.push_back(*g);
        cv_.notify_all();
      }});
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
  // Waits (bounded) for a published generation that satisfies `pred`; null if none came.
  std::shared_ptr<const Generation> WaitUntil(const std::function<bool(const Generation&)>& pred,
                                              std::chrono::milliseconds limit = 10s) {
    std::unique_lock lock(mu_);
    std::shared_ptr<const Generation> found;
    cv_.wait_for(lock, limit, [&] {
      for (const auto& g : published_) {
        if (pred(*g)) found = g;
      }
      return found != nullptr;
    });
    return found;
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

TEST(LiveTest, DependenciesArePlannedAgainOnlyWhenTheyChange) {
  TempDir dir, deps;
  deps.Write("dep/__init__.py", "VERSION = 1\n");
  LiveFixture live(dir, deps.path());
  ASSERT_EQ(live.WaitFor(1), 1u);
  const auto first = live.Get(0)->own_layers();
  ASSERT_EQ(first.size(), 2u);
  // A project edit: a generation with a new application layer and the same dependencies layer.
  dir.Write("live/cli.py", "def main():\n    print(3)\n");
  auto edited = live.WaitUntil([&](const Generation& g) {
    return g.own_layers()[1].descriptor.digest != first[1].descriptor.digest;
  });
  ASSERT_NE(edited, nullptr);
  EXPECT_EQ(edited->own_layers()[0].descriptor.digest, first[0].descriptor.digest);
  // A dependencies edit: a generation with a new dependencies layer and the edited application.
  deps.Write("dep/__init__.py", "VERSION = 2\n");
  auto updated = live.WaitUntil([&](const Generation& g) {
    return g.own_layers()[0].descriptor.digest != first[0].descriptor.digest;
  });
  ASSERT_NE(updated, nullptr) << "the dependencies change made no generation";
  EXPECT_EQ(updated->own_layers()[1].descriptor.digest, edited->own_layers()[1].descriptor.digest);
}

// Reads the newest generation's application layer (the last own layer) as a string.
std::string AppLayerBytes(const Generation& g) {
  const Blob* layer = g.FindBlob(g.own_layers().back().descriptor.digest.hex());
  if (layer == nullptr) return "";
  std::string bytes(layer->size(), '\0');
  if (!layer->ReadAt(0, std::as_writable_bytes(std::span(bytes))).ok()) return "";
  return bytes;
}

// Whether any own layer of `g` (every variant's) holds `text`.
bool AnyLayerHas(const Generation& g, std::string_view text) {
  for (const auto& l : g.own_layers()) {
    const Blob* layer = g.FindBlob(l.descriptor.digest.hex());
    std::string bytes(layer == nullptr ? 0 : layer->size(), '\0');
    if (layer != nullptr && layer->ReadAt(0, std::as_writable_bytes(std::span(bytes))).ok() &&
        bytes.find(text) != std::string::npos)
      return true;
  }
  return false;
}

constexpr char kDevVariant[] = "[tool.ocifs.variants.dev]\ninclude = [\"tests\"]\n";

TEST(LiveTest, AFileOnlyAVariantShipsIsWatched) {
  TempDir dir;
  dir.Write(".dockerignore", "tests\n");
  dir.Write("tests/test_cli.py", "def test_one():\n    assert True\n");
  LiveFixture live(dir, "", kDevVariant);
  ASSERT_EQ(live.WaitFor(1), 1u);
  ASSERT_TRUE(AnyLayerHas(*live.Get(0), "assert True"));
  dir.Write("tests/test_cli.py", "def test_one():\n    assert 1 + 1 == 2\n");
  auto edited =
      live.WaitUntil([](const Generation& g) { return AnyLayerHas(g, "assert 1 + 1 == 2"); });
  EXPECT_NE(edited, nullptr) << "an edit of a file only the dev variant ships made no generation";
}

TEST(LiveTest, PlanAndWatchFollowsEveryVariantsFiles) {
  TempDir dir;
  dir.Write("pyproject.toml", std::string("[project]\nname = \"w\"\n") + kDevVariant);
  dir.Write("main.py", "print(1)\n");
  dir.Write(".dockerignore", "tests\ndocs\n");
  dir.Write("tests/unit/test_main.py", "");
  dir.Write("docs/index.md", "");  // no variant ships it: not watched
  PlanInputs in;
  in.project_dir = dir.path();
  in.flags.base = "scratch";
  in.source_date_epoch = "0";
  auto planned = PlanAndWatch(in, /*watch=*/true);
  ASSERT_TRUE(planned.ok()) << planned.status().message();
  ASSERT_NE(planned->watcher, nullptr);
  TreeWatcher& w = *planned->watcher;
  EXPECT_EQ(w.watch_count(), 3u) << "the root, tests, tests/unit";
  dir.Write("docs/index.md", "# w\n");
  EXPECT_EQ(w.Wait(200ms).value(), TreeWatcher::Event::kTimeout) << "docs/ counted";
  dir.Write("tests/unit/test_main.py", "def test(): pass\n");
  EXPECT_EQ(w.Wait(2s).value(), TreeWatcher::Event::kChanged);

  // Only the unnamed image: tests/ is nobody's, so it is not watched.
  in.variants = std::vector<std::string>{"default"};
  auto unnamed = PlanAndWatch(in, /*watch=*/true);
  ASSERT_TRUE(unnamed.ok()) << unnamed.status().message();
  EXPECT_EQ(unnamed->watcher->watch_count(), 1u);
}

TEST(LiveTest, WatchRootsKeepsOneRuleSetPerDistinctVariantRules) {
  auto project = [](const std::string& rules) {
    auto p = std::make_shared<ResolvedProject>();
    p->dir = "/src/app";
    EXPECT_TRUE(p->ignore.AddFile(rules, "`.dockerignore`").ok());
    return std::shared_ptr<const ResolvedProject>(p);
  };
  struct Case {
    std::vector<std::string> variant_rules;
    size_t rule_sets;
  };
  const Case cases[] = {
      {{"tests\n"}, 1},
      {{"tests\n", "tests\n"}, 1},  // equal rules: one set
      {{"tests\n", "docs\n"}, 2},   // different: both
      {{"tests\n", "docs\n", "tests\n", "docs\n"}, 2},
      {{"tests\n", "tests\n", "*.md\n"}, 2},
  };
  for (const Case& c : cases) {
    std::vector<std::shared_ptr<const ResolvedProject>> variants;
    for (const auto& r : c.variant_rules) variants.push_back(project(r));
    const auto roots = WatchRoots(variants);
    ASSERT_GE(roots.size(), 2u);
    EXPECT_EQ(roots[0].path, "/src/app");
    EXPECT_EQ(roots[0].ignore.size(), c.rule_sets) << c.variant_rules.size() << " variants";
  }
}

TEST(LiveTest, ANewIgnoreFileChangesWhatIsWatched) {
  TempDir dir;
  dir.Write(".dockerignore", "data\n");
  dir.Write("data/table.csv", "a,b\n");
  LiveFixture live(dir);
  ASSERT_EQ(live.WaitFor(1), 1u);
  EXPECT_EQ(AppLayerBytes(*live.Get(0)).find("app/data/table.csv"), std::string::npos);

  // Un-excluding the directory packs it, and from then on its files are watched as well.
  dir.Write(".dockerignore", "# nothing excluded\n");
  auto packed = live.WaitUntil([](const Generation& g) {
    return AppLayerBytes(g).find("app/data/table.csv") != std::string::npos;
  });
  ASSERT_NE(packed, nullptr) << "the .dockerignore edit made no generation with data/";
  dir.Write("data/table.csv", "a,b\n1,2\n");
  auto edited = live.WaitUntil(
      [](const Generation& g) { return AppLayerBytes(g).find("a,b\n1,2\n") != std::string::npos; });
  EXPECT_NE(edited, nullptr) << "an edit in the newly packed directory made no generation";
}

TEST(LiveTest, PlanAndWatchWatchesWhatItPlannedInTheSameWalk) {
  TempDir dir, deps;
  dir.Write("pyproject.toml", "[project]\nname = \"w\"\n");
  dir.Write("main.py", "print(1)\n");
  dir.Write("pkg/sub/mod.py", "x = 1\n");
  dir.Write(".git/objects/ab/cdef", "blob");              // a default ignore: not walked
  deps.Write("dep/__pycache__/dep.cpython-311.pyc", "");  // left out of the layer: not watched
  deps.Write("dep/__init__.py", "");
  PlanInputs in;
  in.project_dir = dir.path();
  in.flags.base = "scratch";
  in.flags.deps = deps.path();
  in.flags.python = "3.11";
  in.source_date_epoch = "0";

  auto frozen = PlanAndWatch(in, /*watch=*/false);
  ASSERT_TRUE(frozen.ok()) << frozen.status().message();
  EXPECT_EQ(frozen->watcher, nullptr);

  auto planned = PlanAndWatch(in, /*watch=*/true);
  ASSERT_TRUE(planned.ok()) << planned.status().message();
  ASSERT_NE(planned->watcher, nullptr);
  TreeWatcher& w = *planned->watcher;
  // Project: root, pkg, pkg/sub. Dependencies: root, dep.
  EXPECT_EQ(w.watch_count(), 5u);
  EXPECT_EQ(w.Wait(100ms).value(), TreeWatcher::Event::kTimeout);
  dir.Write(".git/objects/ab/cdef", "changed");
  deps.Write("dep/__pycache__/dep.cpython-311.pyc", "changed");
  EXPECT_EQ(w.Wait(200ms).value(), TreeWatcher::Event::kTimeout) << "an ignored path counted";
  dir.Write("pkg/sub/mod.py", "x = 2\n");
  EXPECT_EQ(w.Wait(2s).value(), TreeWatcher::Event::kChanged);
  EXPECT_EQ(w.TakeChangedRoots(), (std::vector<bool>{true, false}));
  deps.Write("dep/__init__.py", "VERSION = 2\n");
  EXPECT_EQ(w.Wait(2s).value(), TreeWatcher::Event::kChanged);
  EXPECT_EQ(w.TakeChangedRoots(), (std::vector<bool>{false, true}));
}

// Planning lists a tree on two threads and each calls Watch for the directories it reads, with
// no lock of its own: every watch must be kept, and an edit in any directory must count.
TEST(LiveTest, WatchCalledFromTwoThreadsAtOnceKeepsEveryDirectory) {
  TempDir dir;
  constexpr int kPerThread = 1500;
  for (int i = 0; i < 2 * kPerThread; ++i) dir.Write(fmt::format("d{}/f", i), "");
  auto opened = TreeWatcher::OpenEmpty({{dir.path(), {}}});
  ASSERT_TRUE(opened.ok()) << opened.status().message();
  TreeWatcher& w = **opened;
  {
    auto watch = [&w](int first) {
      for (int i = first; i < first + kPerThread; ++i) w.Watch(0, fmt::format("d{}", i));
    };
    std::jthread other(watch, kPerThread);
    watch(0);
  }
  EXPECT_EQ(w.watch_count(), 2u * kPerThread);
  EXPECT_EQ(w.Wait(50ms).value(), TreeWatcher::Event::kTimeout);
  for (int i : {0, kPerThread - 1, kPerThread, 2 * kPerThread - 1}) {
    SCOPED_TRACE(i);
    dir.Write(fmt::format("d{}/f", i), "edited");
    EXPECT_EQ(w.Wait(2s).value(), TreeWatcher::Event::kChanged);
  }
}

TEST(LiveTest, ABurstOfWritesSettlesIntoOneGeneration) {
  TempDir dir;
  LiveFixture live(dir);
  ASSERT_EQ(live.WaitFor(1), 1u);
  for (int i = 0; i < 5; ++i)
    dir.Write("live/cli.py", "def main():\n    print(" + std::to_string(i) + ")\n");
  ASSERT_GE(live.WaitFor(2), 2u);
  // Each write truncates, then writes: a generation may land between the two, but the burst
  // does not make one per write.
  EXPECT_LE(live.WaitFor(4, 500ms), 3u) << "five quick writes: at most two new generations";
}

// The status file of an idle mount is rewritten when its content changes (its `updated` time has
// seconds), not at every look (200 ms): each rewrite is a write to the runtime directory's file
// system. A change still reaches the file at the next look.
TEST(LiveTest, TheStatusFileIsRewrittenOnlyWhenItChanges) {
  TempDir dir, run;
  const std::string status_path = run.path() + "/status.json";
  LiveFixture live(dir, "", "", status_path);
  ASSERT_EQ(live.WaitFor(1), 1u);
  auto status_says = [&](const std::string& key, const nlohmann::json& want) {
    for (auto deadline = std::chrono::steady_clock::now() + 5s;
         std::chrono::steady_clock::now() < deadline; std::this_thread::sleep_for(20ms)) {
      auto j = ReadStatusFile(status_path);
      if (j.ok() && j->value(key, nlohmann::json()) == want) return true;
    }
    return false;
  };
  ASSERT_TRUE(status_says("state", "ready"));

  // Each rewrite renames a temp file of a new name over the file: count those names (inotify
  // would merge the events of the final name, all alike).
  UniqueFd notify(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
  ASSERT_TRUE(notify.valid());
  ASSERT_GE(::inotify_add_watch(notify.get(), run.path().c_str(), IN_MOVED_FROM), 0);
  const auto start = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(2200ms);  // 11 looks; 2 or 3 distinct seconds
  int rewrites = 0;
  alignas(struct inotify_event) char buf[4096];
  for (ssize_t n; (n = ::read(notify.get(), buf, sizeof buf)) > 0;) {
    for (char* p = buf; p < buf + n;) {
      const auto* ev = reinterpret_cast<const struct inotify_event*>(p);
      if (ev->len > 0 && std::string_view(ev->name).starts_with("status.json.tmp-")) ++rewrites;
      p += sizeof(struct inotify_event) + ev->len;
    }
  }
  // One rewrite a second that began while watching (and one just before, late): 10 or 11 would
  // be a rewrite at every look.
  const auto watched =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - start);
  EXPECT_GE(rewrites, 1) << "the `updated` time moved on";
  EXPECT_LE(rewrites, watched.count() + 2) << "rewritten at every look, not when it changed";

  dir.Write("live/cli.py", "def main():\n    print(2)\n");
  ASSERT_EQ(live.WaitFor(2), 2u);
  EXPECT_TRUE(status_says("generation", 2));
}

TEST(LiveTest, ASaveWithTheSameBytesKeepsTheManifestAndTheLayerReadable) {
  TempDir dir;
  LiveFixture live(dir);
  ASSERT_EQ(live.WaitFor(1), 1u);
  dir.Write("live/cli.py", "def main():\n    print(1)\n");  // the same content again: a new ctime
  ASSERT_EQ(live.WaitFor(2), 2u);
  EXPECT_EQ(live.Get(1)->manifest_digest(), live.Get(0)->manifest_digest());
  EXPECT_EQ(live.Get(1)->index_json(), live.Get(0)->index_json());
  // The newest generation reads the rewritten file; the old one can no longer vouch for it.
  const std::string hex = live.Get(1)->own_layers().back().descriptor.digest.hex();
  for (size_t i : {size_t{1}, size_t{0}}) {
    const Blob* layer = live.Get(i)->FindBlob(hex);
    ASSERT_NE(layer, nullptr);
    std::string bytes(layer->size(), '\0');
    Status s = layer->ReadAt(0, std::as_writable_bytes(std::span(bytes)));
    if (i == 1) {
      EXPECT_TRUE(s.ok()) << s.message();
      EXPECT_EQ(Digest::Of(bytes).hex(), hex);
    } else {
      EXPECT_EQ(s.code(), Code::kChanged);
    }
  }
}

}  // namespace
}  // namespace ocifs
