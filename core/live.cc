#include "core/live.h"

#include <fmt/format.h>

namespace ocifs {

LiveImage::LiveImage(ImagePlan first, LiveOptions options)
    : plan_(std::move(first)), options_(std::move(options)) {
  // The dependencies layer leaves these out, so changes there do not count either.
  (void)deps_ignore_.Add("**/__pycache__", "the dependencies ignore list");
  (void)deps_ignore_.Add("**/*.pyc", "the dependencies ignore list");
}

void LiveImage::Stop() {
  std::lock_guard lock(mu_);
  stopped_ = true;
  progress_.cancelled = true;
  if (watcher_ != nullptr) watcher_->Stop();
  stopped_cv_.notify_all();
}

Result<std::unique_ptr<TreeWatcher>> LiveImage::OpenWatcher(
    const std::shared_ptr<const ResolvedProject>& project) {
  // The rules live in the project (which the aliasing pointer keeps alive) and in this object
  // (which outlives its watchers).
  std::vector<TreeWatcher::Root> roots = {
      {project->dir, std::shared_ptr<const IgnoreRules>(project, &project->ignore)}};
  if (project->deps) {
    roots.push_back({project->deps->host_path,
                     std::shared_ptr<const IgnoreRules>(std::shared_ptr<void>(), &deps_ignore_)});
  }
  return TreeWatcher::Open(std::move(roots));
}

bool LiveImage::WaitForSettledChange(TreeWatcher& watcher) {
  for (;;) {
    auto ev = watcher.Wait(std::chrono::hours(1));
    if (!ev.ok()) {
      Log("watching the project failed: " + ev.status().message());
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
    if (*ev == TreeWatcher::Event::kTimeout) return true;
    if (std::chrono::steady_clock::now() - first >= options_.max_delay) return true;
  }
}

void LiveImage::Run(const PublishFn& publish) {
  auto first =
      BuildGeneration(plan_, ++number_, {.progress = &progress_, .cache = options_.cache.get()});
  const bool ok = first.ok();
  Digest current = ok ? (*first)->manifest_digest() : Digest();
  publish(std::move(first));
  if (!ok) return;

  std::unique_ptr<TreeWatcher> watcher;
  if (options_.watch) {
    auto w = OpenWatcher(plan_.project);
    if (w.ok()) {
      watcher = std::move(w).value();
    } else {
      Log("not watching the project for changes: " + w.status().message());
    }
  }
  if (!watcher) {  // a frozen generation: serve it until stopped
    std::unique_lock lock(mu_);
    stopped_cv_.wait(lock, [&] { return stopped_; });
    return;
  }
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (stopped_) return;
      watcher_ = watcher.get();
    }
    if (!WaitForSettledChange(*watcher)) return;
    // Watch again before planning, so that a change made while planning is not missed.
    auto next_watcher = OpenWatcher(plan_.project);
    auto project = ResolveProject(options_.inputs);
    Result<ImagePlan> plan =
        project.ok()
            ? PlanImage(std::make_shared<const ResolvedProject>(std::move(project).value()),
                        plan_.base)
            : Result<ImagePlan>(project.status());
    if (!plan.ok()) {
      Log("the change is not served yet: " + plan.status().message());
    } else {
      progress_.bytes_done = 0;
      progress_.bytes_total = 0;
      auto gen = BuildGeneration(*plan, number_ + 1,
                                 {.progress = &progress_, .cache = options_.cache.get()});
      if (!gen.ok()) {
        Log("the change is not served yet: " + gen.status().message());
      } else if ((*gen)->manifest_digest() != current) {
        ++number_;
        current = (*gen)->manifest_digest();
        for (const auto& w : plan->warnings) Log("warning: " + w);
        plan_ = std::move(plan).value();
        publish(std::move(gen));
      }
    }
    std::lock_guard lock(mu_);
    if (stopped_) return;
    watcher_ = nullptr;
    if (next_watcher.ok()) watcher = std::move(next_watcher).value();
  }
}

}  // namespace ocifs
