// Live images: the generations a mount serves, one after another as the project changes.
//
// GenerationSource is what the FUSE adapter asks for images: Run() publishes a first generation
// (or the error that prevented it), then each newer one, until Stop(). LiveImage is the source
// behind `ocifs mount`: it hashes the first plan, then (unless watching is off) waits for changes
// in the project and dependency trees (TreeWatcher), lets a burst of changes settle (`quiet`, at
// most `max_delay`), re-resolves the project, re-plans it on the same base, and builds the next
// generation. The digest cache makes the unchanged layers free, and the dependencies layer is not
// even planned again when only the project changed. Every generation that builds is published,
// also one whose manifest did not change (its layers then read the files as they are now); a
// change that cannot be planned or hashed (a half-saved
// pyproject.toml, a file deleted while hashing) is logged and the current generation stays.
// The first generation too: if a file changes while it is hashed, it is planned again once the
// change settles, and readers wait; any other failure is published (readers get EIO) until a
// change makes a generation that works.
//
// The watcher is opened once, before the first hashing, and kept: a change made while a round
// plans or hashes is queued and starts the next round, so the dependency tree's thousands of
// directories are not walked again per edit. When a new plan packs by other rules (an edit of
// .dockerignore, another dependencies directory), a new watcher is opened for them and the
// project is planned once more, so that nothing changed meanwhile is missed.
//
// The base image is resolved once, at mount: a changed base needs a remount.
//
// Thread safety: Run() on one thread; Stop() and the accessors from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

#include "core/image/image.h"
#include "core/live/watch.h"
#include "core/oci/digest_cache.h"
#include "core/pipeline/pipeline.h"
#include "core/python/project.h"

namespace ocifs {

using PublishFn = std::function<void(Result<std::shared_ptr<const Generation>>)>;

// What a source tells the server that runs it.
struct GenerationSink {
  PublishFn publish = nullptr;  // each generation, or why there is none
  // The bytes of each layer as it is hashed (BuildOptions::on_layer_bytes); may be empty.
  LayerBytesFn layer_bytes = nullptr;
  // The server's own counters, put under "serving" in the status file; may be empty.
  std::function<nlohmann::json()> status = nullptr;
};

class GenerationSource {
 public:
  virtual ~GenerationSource() = default;
  virtual void Run(const GenerationSink& sink) = 0;
  virtual void Stop() = 0;
};

struct LiveOptions {
  PlanInputs inputs;  // how the project was resolved, to resolve it again after a change
  bool watch = true;
  std::chrono::milliseconds quiet{50};
  std::chrono::milliseconds max_delay{500};
  std::shared_ptr<DigestCache> cache;                     // may be null
  std::function<void(LogLevel, const std::string&)> log;  // after the mount is up; may be null
  std::string mountpoint;                                 // for the status file
  // Looked at every 200 ms while running and rewritten when it changed (its `updated` time has
  // seconds: once a second when idle); "" = none.
  std::string status_file;
  // Called every 200 ms while a generation is being hashed (a progress line); may be null.
  std::function<void(const HashProgress&)> on_progress;
};

// The directories a watcher follows for the variants of a plan (the plan's first first), as
// PlanRoot numbers them: the project, with every variant's ignore rules, equal sets once (a path
// counts when any variant packs it), and the first variant's dependencies directory (with
// DependencyIgnoreRules(); an empty root when there is none); then each variant's `extra-deps`
// directories, once each (planning does not walk them for the watcher: WatchTree does).
std::vector<TreeWatcher::Root> WatchRoots(
    const std::vector<std::shared_ptr<const ResolvedProject>>& variants);
// The projects of a plan's variants, the plan's first.
std::vector<std::shared_ptr<const ResolvedProject>> VariantProjects(const ImagePlan& plan);

// The first plan of a mount, and (when `watch`) the watcher for it, filled by the same walk:
// each directory is watched just before planning reads it, so a change made while planning is
// seen, and the trees are walked once, not twice.
struct WatchedPlan {
  ImagePlan plan;
  std::unique_ptr<TreeWatcher> watcher;  // null when not watching
};
Result<WatchedPlan> PlanAndWatch(const PlanInputs& in, bool watch);

class LiveImage : public GenerationSource {
 public:
  // `watcher`: the one PlanAndWatch opened for `first`; when null and options.watch, Run()
  // opens one.
  LiveImage(ImagePlan first, LiveOptions options, std::unique_ptr<TreeWatcher> watcher = nullptr);
  void Run(const GenerationSink& sink) override;
  void Stop() override;
  HashProgress& progress() { return progress_; }
  uint64_t generations() const { return number_; }
  // What `ocifs status` shows: generation, state, per-layer progress, cache counters, last error.
  nlohmann::json StatusJson();

 private:
  void Log(LogLevel level, const std::string& m) const {
    if (options_.log) options_.log(level, m);
  }
  void Failed(LogLevel level, const std::string& m) {
    Log(level, m);
    std::lock_guard lock(mu_);
    last_error_ = m;
  }
  // Writes the status file (and calls on_progress) until stopped.
  void Report();
  Result<std::unique_ptr<TreeWatcher>> OpenWatcher(const ImagePlan& plan);
  // Waits for a change and lets it settle. False when stopped. Sets `deps_changed` when the
  // dependencies directory (the watcher's second root) saw a change.
  bool WaitForSettledChange(TreeWatcher& watcher, bool& deps_changed);
  // Whether a watcher opened for the variants `b` watches what `a` pack (same roots, same ignore
  // rules).
  static bool SameWatchedRoots(const std::vector<std::shared_ptr<const ResolvedProject>>& a,
                               const std::vector<std::shared_ptr<const ResolvedProject>>& b);
  bool Stopped();
  void SetHashing(bool hashing);

  ImagePlan plan_;
  LiveOptions options_;
  std::function<nlohmann::json()> server_status_;  // set by Run
  HashProgress progress_;
  std::atomic<uint64_t> number_{0};
  std::unique_ptr<TreeWatcher> first_watcher_;  // handed to Run()

  std::mutex mu_;  // guards the fields below (watcher_: the pointer, not the watcher's state)
  std::condition_variable stopped_cv_;
  bool stopped_ = false;
  TreeWatcher* watcher_ = nullptr;
  std::string last_error_;
  Digest current_;
  bool hashing_ = false;
};

}  // namespace ocifs
