#include "core/live/live.h"

#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <optional>
#include <thread>

#include <fmt/format.h>

#include "core/live/mount_status.h"
#include "core/pipeline/pipeline.h"
#include "core/plugins/plugin_host.h"

namespace ocifs {

std::vector<TreeWatcher::Root> WatchRoots(
    const std::vector<std::shared_ptr<const ResolvedProject>>& variants) {
  const auto& first = variants.front();
  TreeWatcher::Root project{first->dir, {}};
  for (const auto& v : variants) {
    // Variants with equal rules give one set: each event is checked against every set.
    const bool seen = std::any_of(project.ignore.begin(), project.ignore.end(),
                                  [&](const auto& rules) { return *rules == v->ignore; });
    // The rules live in the project, which the aliasing pointer keeps alive.
    if (!seen) project.ignore.push_back(std::shared_ptr<const IgnoreRules>(v, &v->ignore));
  }
  std::vector<TreeWatcher::Root> roots = {std::move(project)};
  // The dependencies layers leave these out, so changes there do not count either.
  roots.push_back({first->deps ? first->deps->host_path : "", {DependencyIgnoreRules()}});
  for (const auto& v : variants) {
    for (const DepsSource& extra : v->extra_deps) {
      const bool seen = std::any_of(roots.begin(), roots.end(),
                                    [&](const auto& r) { return r.path == extra.host_path; });
      if (!seen) roots.push_back({extra.host_path, {DependencyIgnoreRules()}});
    }
  }
  return roots;
}

std::vector<std::shared_ptr<const ResolvedProject>> VariantProjects(const ImagePlan& plan) {
  std::vector<std::shared_ptr<const ResolvedProject>> out;
  for (const ImagePlan* v : VariantPlans(plan)) out.push_back(v->project);
  return out;
}

Result<WatchedPlan> PlanAndWatch(const PlanInputs& in, bool watch) {
  WatchedPlan out;
  auto on_resolved =
      [&](const std::vector<std::shared_ptr<const ResolvedProject>>& variants) -> Status {
    if (!watch) return Status::Ok();
    std::vector<TreeWatcher::Root> roots = WatchRoots(variants);
    const size_t count = roots.size();
    OCIFS_ASSIGN_OR_RETURN(out.watcher, TreeWatcher::OpenEmpty(std::move(roots)));
    for (size_t extra = 2; extra < count; ++extra) out.watcher->WatchTree(extra);
    return Status::Ok();
  };
  auto on_directory = [&](PlanRoot root, const std::string& dir) {
    if (out.watcher) out.watcher->Watch(static_cast<size_t>(root), dir);
  };
  OCIFS_ASSIGN_OR_RETURN(out.plan, PlanProject(in, on_resolved, on_directory));
  return out;
}

LiveImage::LiveImage(ImagePlan first, LiveOptions options, std::unique_ptr<TreeWatcher> watcher)
    : plan_(std::move(first)), options_(std::move(options)), first_watcher_(std::move(watcher)) {}

void LiveImage::Stop() {
  std::lock_guard lock(mu_);
  stopped_ = true;
  progress_.cancelled = true;
  if (watcher_ != nullptr) watcher_->Stop();
  stopped_cv_.notify_all();
}

Result<std::unique_ptr<TreeWatcher>> LiveImage::OpenWatcher(const ImagePlan& plan) {
  return TreeWatcher::Open(WatchRoots(VariantProjects(plan)));
}

bool LiveImage::WaitForSettledChange(TreeWatcher& watcher, bool& deps_changed) {
  for (;;) {
    auto ev = watcher.Wait(std::chrono::hours(1));
    if (!ev.ok()) {
      Log(LogLevel::kError, "watching the project failed: " + ev.status().message());
      return false;
    }
    if (*ev == TreeWatcher::Event::kStopped) return false;
    if (*ev == TreeWatcher::Event::kChanged) break;
  }
  // A burst of writes (an editor's save, a git checkout) becomes one generation.
  const auto first = std::chrono::steady_clock::now();
  for (;;) {
    auto ev = watcher.Wait(options_.quiet);
    if (!ev.ok() || *ev == TreeWatcher::Event::kStopped) return false;
    if (*ev == TreeWatcher::Event::kTimeout ||
        std::chrono::steady_clock::now() - first >= options_.max_delay) {
      std::vector<bool> roots = watcher.TakeChangedRoots();
      deps_changed = roots.size() > 1 && roots[1];
      return true;
    }
  }
}

nlohmann::json LiveImage::StatusJson() {
  nlohmann::json layers = nlohmann::json::array();
  for (const auto& l : progress_.Snapshot()) {
    layers.push_back(
        {{"name", l.name}, {"done", l.done}, {"total", l.total}, {"state", StateName(l.state)}});
  }
  std::lock_guard lock(mu_);
  nlohmann::json j = {
      {"pid", ::getpid()},
      {"mountpoint", options_.mountpoint},
      {"project", plan_.project ? plan_.project->dir : ""},
      {"generation", number_.load()},
      {"manifest", current_.empty() ? "" : current_.str()},
      {"state", hashing_           ? "hashing"
                : current_.empty() ? "starting"
                                   : "ready"},
      {"watching", options_.watch},
      {"layers", layers},
      {"last_error", last_error_},
      {"updated", Rfc3339(std::time(nullptr))},
  };
  if (options_.inputs.plugins) {
    nlohmann::json plugins = options_.inputs.plugins->Statuses();
    if (!plugins.empty()) j["plugins"] = std::move(plugins);
  }
  if (server_status_) j["serving"] = server_status_();
  if (options_.cache) {
    j["cache"] = {{"dir", options_.cache->dir()},
                  {"hits", options_.cache->hits()},
                  {"misses", options_.cache->misses()}};
  }
  return j;
}

void LiveImage::Report() {
  nlohmann::json written;  // the status file's content: rewritten only when it changes
  std::unique_lock lock(mu_);
  while (!stopped_) {
    const bool hashing = hashing_;
    lock.unlock();
    if (!options_.status_file.empty()) {
      nlohmann::json status = StatusJson();
      if (status != written) {
        Status s = WriteStatusFile(options_.status_file, status);
        if (s.ok()) {
          written = std::move(status);
        } else {
          Log(LogLevel::kWarning, "could not write the status file: " + s.message());
        }
      }
    }
    if (hashing && options_.on_progress) options_.on_progress(progress_);
    lock.lock();
    stopped_cv_.wait_for(lock, std::chrono::milliseconds(200), [&] { return stopped_; });
  }
  lock.unlock();
  if (!options_.status_file.empty()) ::unlink(options_.status_file.c_str());
}

bool LiveImage::SameWatchedRoots(const std::vector<std::shared_ptr<const ResolvedProject>>& a,
                                 const std::vector<std::shared_ptr<const ResolvedProject>>& b) {
  auto same = [](const TreeWatcher::Root& x, const TreeWatcher::Root& y) {
    return x.path == y.path &&
           std::equal(x.ignore.begin(), x.ignore.end(), y.ignore.begin(), y.ignore.end(),
                      [](const auto& p, const auto& q) { return *p == *q; });
  };
  const auto roots_a = WatchRoots(a), roots_b = WatchRoots(b);
  return std::equal(roots_a.begin(), roots_a.end(), roots_b.begin(), roots_b.end(), same);
}

void LiveImage::SetHashing(bool hashing) {
  std::lock_guard lock(mu_);
  hashing_ = hashing;
}

bool LiveImage::Stopped() {
  std::lock_guard lock(mu_);
  return stopped_;
}

void LiveImage::Run(const GenerationSink& sink) {
  const PublishFn& publish = sink.publish;
  server_status_ = sink.status;  // before the reporter starts
  std::jthread reporter([this] { Report(); });
  // Watch from before the first hashing, so that a change made while hashing is seen.
  std::unique_ptr<TreeWatcher> watcher = std::move(first_watcher_);
  // The project whose directories and ignore rules the watcher follows.
  std::vector<std::shared_ptr<const ResolvedProject>> watched = VariantProjects(plan_);
  bool watch_changed = false, watch_changed_deps = false;
  if (!options_.watch) {
    watcher.reset();
  } else if (!watcher) {
    auto w = OpenWatcher(plan_);
    if (w.ok()) {
      watcher = std::move(w).value();
    } else {
      Log(LogLevel::kWarning, "not watching the project for changes: " + w.status().message());
    }
  }
  // Declared after `watcher`, so it runs first at return: Stop() must not reach a dead watcher.
  struct ClearWatcher {
    LiveImage* self;
    ~ClearWatcher() {
      std::lock_guard lock(self->mu_);
      self->watcher_ = nullptr;
    }
  } clear_watcher{this};
  Result<ImagePlan> plan = plan_;
  Digest current;
  bool served = false, error_published = false;
  // The dependencies changed since the plan being served was made: plan them again. Kept until a
  // generation is served, so a failed round does not make a later one reuse a stale layer.
  bool deps_dirty = false;
  int retries = 0;
  // When this round's planning started (unset for the first plan, made before the mount).
  std::optional<std::chrono::steady_clock::time_point> round_start;
  for (;;) {
    Status failed;
    if (plan.ok()) {
      const auto build_start = std::chrono::steady_clock::now();
      auto gen = BuildGeneration(*plan, number_ + 1,
                                 {.progress = &progress_,
                                  .cache = options_.cache.get(),
                                  .on_layer_bytes = sink.layer_bytes});
      if (gen.ok() && options_.inputs.plugins) {
        // Generation plugins see it before it is served; an error fails it like a hashing error.
        Status told = options_.inputs.plugins->OnGeneration(
            **gen, {options_.mountpoint, plan->project->dir, plan->project->pyproject.version});
        if (!told.ok()) gen = told;
      }
      const auto built = std::chrono::steady_clock::now();
      if (Stopped()) return;
      if (gen.ok()) {
        // Published even when the manifest is the same (a file saved with the same bytes, a
        // touch): the layers then read the files as they are now, whose metadata moved, instead of
        // failing their checks against the old metadata.
        const bool same = served && (*gen)->manifest_digest() == current;
        // The same warnings on every generation would bury the log: only new ones.
        if (served && plan->warnings != plan_.warnings) {
          for (const auto& w : plan->warnings) Log(LogLevel::kWarning, w);
        }
        ++number_;
        current = (*gen)->manifest_digest();
        {
          std::lock_guard lock(mu_);
          current_ = current;
          last_error_.clear();
        }
        served = true;
        deps_dirty = false;
        plan_ = std::move(plan).value();
        auto ms = [](auto d) {
          return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
        };
        const std::string planned =
            round_start ? fmt::format("planned in {} ms, ", ms(build_start - *round_start)) : "";
        Log(LogLevel::kInfo,
            fmt::format("generation {}: {}manifest {} ({}built in {} ms)", number_.load(),
                        same ? "same " : "", current.str(), planned, ms(built - build_start)));
        publish(std::move(gen));
      } else {
        failed = gen.status();
      }
    } else {
      failed = plan.status();
    }
    if (!failed.ok()) {
      Failed(served ? LogLevel::kWarning : LogLevel::kError,
             served ? "the change is not served yet: " + failed.message()
                    : "the first generation could not be made: " + failed.message());
      // A file that changed while it was hashed is no error to publish: the change itself brings
      // a new plan, and readers of the first generation keep waiting for it.
      const bool changed = failed.code() == Code::kChanged;
      // Without a watcher nothing announces the change: retry the first generation a while.
      const bool will_retry = !served && changed && (watcher != nullptr || retries < 50);
      if (!served && !will_retry && !error_published) {
        publish(failed);
        error_published = true;
      }
      if (!watcher && will_retry) {
        ++retries;
        std::unique_lock lock(mu_);
        if (stopped_cv_.wait_for(lock, std::chrono::milliseconds(100), [&] { return stopped_; })) {
          return;
        }
        lock.unlock();
        round_start = std::chrono::steady_clock::now();
        plan = ocifs::Replan(options_.inputs, plan_, /*deps_changed=*/true);
        continue;
      }
    }
    if (!watcher) {  // a frozen generation: serve it until stopped
      std::unique_lock lock(mu_);
      stopped_cv_.wait(lock, [&] { return stopped_; });
      return;
    }
    {
      std::lock_guard lock(mu_);
      if (stopped_) return;
      watcher_ = watcher.get();
    }
    bool deps_changed = true;
    if (watch_changed) {
      // The watcher was just replaced (see below): plan once more, so that nothing that changed
      // between the last plan and the new watches is missed.
      watch_changed = false;
      deps_changed = watch_changed_deps;
    } else if (!WaitForSettledChange(*watcher, deps_changed)) {
      return;
    }
    // The watcher stays: what changes while planning is queued and starts the next round.
    deps_dirty = deps_dirty || deps_changed || !served;
    round_start = std::chrono::steady_clock::now();
    plan = ocifs::Replan(options_.inputs, plan_, deps_dirty);
    if (plan.ok() && !SameWatchedRoots(VariantProjects(*plan), watched)) {
      // The ignore rules or the dependencies directory changed: watch what the new plan packs.
      auto next_watcher = OpenWatcher(*plan);
      std::lock_guard lock(mu_);
      if (stopped_) return;
      watcher_ = nullptr;
      if (next_watcher.ok()) {
        const auto& deps_before = watched.front()->deps;
        const auto& deps_now = plan->project->deps;
        watch_changed_deps =
            !deps_before || !deps_now || deps_before->host_path != deps_now->host_path;
        watcher = std::move(next_watcher).value();
        watched = VariantProjects(*plan);
        watch_changed = true;
      }
    }
  }
}

}  // namespace ocifs
