// The registry-sync plugin: every generation of a mount is pushed to a registry.
//
//   [tool.ocifs.plugins.registry-sync]
//   repository = "registry.example:5000/team/app"   # required; without it the plugin is idle
//   tags = ["latest", "{version}", "sha-{commit}"]  # the default
//   compression = "gzip"                            # gzip, zstd, none, gzip:LEVEL, zstd:LEVEL
//   debounce = "500ms"                              # quiet time before a push starts
//
// on_generation only records the newest generation; a thread of the plugin's own pushes it once
// the mount serves it, by running `ocifs push --mount MOUNTPOINT REPOSITORY:TAG ...` (the host's
// executable, so the push is the same code, credentials and checks as the command's; it pushes
// every variant too, each under its tags: see `ocifs push`). The thread:
//   - waits `debounce` after the newest generation, so a burst of saves is one push;
//   - abandons a push when a newer generation arrives meanwhile (SIGTERM: the push stops between
//     chunks and gives its upload up), and pushes the newest instead;
//   - retries a failed push with backoff (1 s, 2 s, ... 60 s), and always ends with the newest
//     generation pushed, or with its error shown;
//   - reports what it does with set_status, which `ocifs status` shows.
// Tags: `{version}` is [project] version (a tag with it is left out when there is none), and
// `{commit}` the checkout's short commit, only when `git status` says the tree is clean (else the
// tag is left out: a dirty tree is not that commit). Characters a tag may not hold become `-`.
// Credentials are the push's (docker's and podman's files); neither they nor anything of the
// push's but its summary or error reaches the status.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <functional>
#include <mutex>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "ocifs/plugin.hpp"
#include "ocifs/subprocess.hpp"

extern char** environ;

namespace {

using ocifs::sdk::Error;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// JSON string escaping for the status (control characters, quotes, backslashes).
std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

// The strings of a setting that is a JSON array of strings (as TOML arrays arrive), or one string.
std::vector<std::string> StringList(std::string_view key, std::string_view value) {
  std::vector<std::string> out;
  if (!value.starts_with("[")) {
    out.emplace_back(value);
    return out;
  }
  size_t i = 1;
  auto bad = [&] {
    return Error("setting `" + std::string(key) + "`: an array of strings, such as [\"latest\"]",
                 OCIFS_ERR_INVALID_ARGUMENT);
  };
  for (;;) {
    while (i < value.size() && (value[i] == ' ' || value[i] == ',')) ++i;
    if (i < value.size() && value[i] == ']') return out;
    if (i >= value.size() || value[i] != '"') throw bad();
    std::string item;
    for (++i; i < value.size() && value[i] != '"'; ++i) {
      if (value[i] == '\\' && i + 1 < value.size()) ++i;
      item += value[i];
    }
    if (i >= value.size()) throw bad();
    ++i;
    out.push_back(item);
  }
}

milliseconds ParseDuration(std::string_view text) {
  static const std::regex kDuration(R"(^(\d{1,6})(ms|s)?$)");
  std::cmatch m;
  if (!std::regex_match(text.begin(), text.end(), m, kDuration)) {
    throw Error(
        "setting `debounce`: a duration such as 500ms or 2s, not `" + std::string(text) + "`",
        OCIFS_ERR_INVALID_ARGUMENT);
  }
  const long n = std::stol(m[1].str());
  return m[2].str() == "s" ? milliseconds(n * 1000) : milliseconds(n);
}

// A tag the distribution grammar allows: other characters become '-', at most 128.
std::string SanitizeTag(std::string tag) {
  for (char& c : tag) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-') c = '-';
  }
  if (!tag.empty() && (tag[0] == '.' || tag[0] == '-')) tag[0] = '_';
  if (tag.size() > 128) tag.resize(128);
  return tag;
}

using Ran = ocifs::sdk::RunResult;

// Runs argv (argv[0] looked up in PATH) and collects its output. `stop` is asked every 100 ms;
// when it says so the process gets SIGTERM (then SIGKILL after 5 s).
Ran Run(const std::vector<std::string>& argv, const std::function<bool()>& stop = {}) {
  ocifs::sdk::RunOptions options;
  options.stop = stop;
  Ran ran = ocifs::sdk::RunProcess(argv, options);
  if (ran.spawn_error != 0)
    ran.err = std::string("cannot run ") + argv[0] + ": " + std::strerror(ran.spawn_error);
  return ran;
}

// The last line of the push's stderr that says what went wrong.
std::string ErrorLine(const Ran& ran) {
  std::istringstream in(ran.err);
  std::string line, last;
  while (std::getline(in, line)) {
    if (line.starts_with("ocifs: error: ")) last = line.substr(14);
  }
  if (!last.empty()) return last;
  return ran.err.empty() ? "the push exited " + std::to_string(ran.exit) : ran.err;
}

// A value of the push's JSON report, as text ("" when it is missing or the report is not JSON).
std::string ReportField(const std::string& report, const std::string& key) {
  const nlohmann::json j = nlohmann::json::parse(report, nullptr, false);
  if (!j.is_object() || !j.contains(key)) return "";
  return j[key].is_string() ? j[key].get<std::string>() : j[key].dump();
}

class RegistrySync {
 public:
  static constexpr const char* kName = "registry-sync";
  static constexpr const char* kVersion = "1.0.0";
  static constexpr const char* kDescription =
      "Pushes every generation of a mount to a registry (ocifs push --mount)";

  explicit RegistrySync(const ocifs::sdk::Settings& settings) : settings_(settings) {
    settings.RequireKnown({"repository", "tags", "compression", "debounce"});
    repository_ = std::string(settings.GetOr("repository", ""));
    if (repository_.empty()) {
      if (settings.all().empty()) return;  // not configured: idle
      throw Error("setting `repository` is required (HOST[:PORT]/NAME)",
                  OCIFS_ERR_INVALID_ARGUMENT);
    }
    static const std::regex kRepository(
        R"(^[A-Za-z0-9.-]+(:[0-9]+)?(/[a-z0-9]+(([._]|__|-+)[a-z0-9]+)*)+$)");
    if (!std::regex_match(repository_, kRepository)) {
      throw Error("setting `repository`: `" + repository_ +
                      "` is not HOST[:PORT]/NAME in lower case, without a tag (tags go in "
                      "`tags`)",
                  OCIFS_ERR_INVALID_ARGUMENT);
    }
    tags_ = StringList("tags", settings.GetOr("tags", R"(["latest","{version}","sha-{commit}"])"));
    if (tags_.empty()) throw Error("setting `tags`: give at least one", OCIFS_ERR_INVALID_ARGUMENT);
    compression_ = std::string(settings.GetOr("compression", "gzip"));
    static const std::regex kCompression(R"(^((gzip|zstd)(:[0-9]{1,2})?|none)$)");
    if (!std::regex_match(compression_, kCompression)) {
      throw Error("setting `compression`: gzip, zstd or none (gzip:LEVEL, zstd:LEVEL), not `" +
                      compression_ + "`",
                  OCIFS_ERR_INVALID_ARGUMENT);
    }
    debounce_ = ParseDuration(settings.GetOr("debounce", "500ms"));
    if (settings.host_executable().empty()) {
      throw Error("this host does not say where its ocifs executable is (ABI 0.3 needed)",
                  OCIFS_ERR_UNSUPPORTED);
    }
    Report("idle", "waiting for the first generation");
  }

  ~RegistrySync() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (worker_.joinable()) worker_.join();
  }

  void OnGeneration(ocifs::sdk::Context& ctx, const ocifs::sdk::Generation& gen) {
    if (repository_.empty()) return;
    if (gen.mountpoint().empty()) {
      ctx.Log(OCIFS_LOG_INFO, "not a mount: nothing to push (`ocifs push` pushes a project)");
      return;
    }
    Wanted w;
    w.number = gen.number();
    w.index_json = std::string(gen.index_json());
    w.mountpoint = std::string(gen.mountpoint());
    w.project_dir = std::string(gen.project_dir());
    w.version = std::string(gen.project_version());
    {
      std::lock_guard lock(mu_);
      wanted_ = std::move(w);
      wanted_at_ = Clock::now();
    }
    cv_.notify_all();
    // Started here, not in init: a host may fork after init, and a thread does not survive a
    // fork. Generations are only ever told by the serving process.
    if (!worker_.joinable()) worker_ = std::thread([this] { Work(); });
  }

 private:
  struct Wanted {
    uint64_t number = 0;
    std::string index_json, mountpoint, project_dir, version;
  };

  void Report(std::string_view state, std::string_view summary, std::string extra = "") {
    std::string j = "{\"state\":" + Quote(state) + ",\"summary\":" + Quote(summary) +
                    ",\"repository\":" + Quote(repository_);
    if (!extra.empty()) j += "," + extra;
    settings_.SetStatus(j + "}");
  }

  // Waits (stop or a newer generation end the wait early); false when stopping.
  bool Sleep(milliseconds d, uint64_t newer_than) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, d, [&] { return stop_ || (wanted_ && wanted_->number > newer_than); });
    return !stop_;
  }

  std::vector<std::string> Tags(const Wanted& w) {
    std::string commit;
    if (std::any_of(tags_.begin(), tags_.end(),
                    [](const auto& t) { return t.find("{commit}") != std::string::npos; })) {
      Ran head = Run({"git", "-C", w.project_dir, "rev-parse", "--short", "HEAD"});
      Ran dirty = Run({"git", "-C", w.project_dir, "status", "--porcelain"});
      if (head.exit == 0 && dirty.exit == 0 && dirty.out.empty()) {
        commit = head.out.substr(0, head.out.find('\n'));
      }
    }
    std::vector<std::string> out;
    for (std::string t : tags_) {
      bool missing = false;
      for (auto [key, value] : {std::pair{std::string("{version}"), w.version},
                                std::pair{std::string("{commit}"), commit}}) {
        for (size_t at; (at = t.find(key)) != std::string::npos;) {
          missing = missing || value.empty();
          t.replace(at, key.size(), value);
        }
      }
      t = SanitizeTag(t);
      if (!missing && !t.empty() && std::find(out.begin(), out.end(), t) == out.end())
        out.push_back(t);
    }
    return out;
  }

  // Whether the mount serves `w` (its index.json is the generation's).
  static bool Served(const Wanted& w) {
    std::ifstream in(w.mountpoint + "/index.json", std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return text == w.index_json;
  }

  void Work() {
    uint64_t pushed_number = 0;
    std::string pushed_index, pushed_tags;
    int failures = 0;
    for (;;) {
      Wanted w;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return stop_ || (wanted_ && wanted_->number > pushed_number); });
        if (stop_) return;
        // Debounce: until the newest generation has been the newest for `debounce`.
        while (!stop_ && Clock::now() - wanted_at_ < debounce_) {
          cv_.wait_for(lock, debounce_ - (Clock::now() - wanted_at_));
        }
        if (stop_) return;
        w = *wanted_;
      }
      // Wait for the mount to serve it (it is told before it serves).
      const auto deadline = Clock::now() + std::chrono::seconds(30);
      while (!Served(w) && Clock::now() < deadline) {
        if (!Sleep(milliseconds(50), w.number)) return;
        if (Newer(w.number)) break;
      }
      if (Newer(w.number)) continue;
      const std::vector<std::string> tags = Tags(w);
      std::string tag_list;
      for (const auto& t : tags) tag_list += (tag_list.empty() ? "" : ",") + t;
      // index.json names every image of the generation (its variants too) and its artifacts.
      if (w.index_json == pushed_index && tag_list == pushed_tags) {
        pushed_number = w.number;  // the same images (a save without a change): pushed already
        continue;
      }
      if (!Served(w)) {
        ++failures;
        Report("retrying", "generation " + std::to_string(w.number) +
                               " is not served by the mount after 30 s; trying again");
        if (!Sleep(milliseconds(1000), w.number)) return;
        continue;
      }
      Report("pushing", "pushing generation " + std::to_string(w.number) + " to " + repository_,
             "\"generation\":" + std::to_string(w.number));
      std::vector<std::string> argv = {
          settings_.host_executable(),      "push",          "--mount",    w.mountpoint,
          repository_ + ":" + tags.front(), "--compression", compression_, "--json"};
      for (size_t i = 1; i < tags.size(); ++i) argv.insert(argv.end(), {"--also-tag", tags[i]});
      if (settings_.cache_dir().empty()) {
        argv.push_back("--no-cache");
      } else {
        argv.insert(argv.end(), {"--cache-dir", settings_.cache_dir() + "/push"});
      }
      const auto start = Clock::now();
      Ran ran = Run(argv, [&] { return Stopping() || Newer(w.number); });
      const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
      if (Stopping()) return;
      if (ran.exit == 0) {
        failures = 0;
        pushed_number = w.number;
        pushed_index = w.index_json;
        pushed_tags = tag_list;
        const std::string digest = ReportField(ran.out, "image_digest");
        const std::string sent = ReportField(ran.out, "total_bytes_sent");
        char took[32];
        std::snprintf(took, sizeof took, "%.2f", seconds);
        Report("pushed",
               "generation " + std::to_string(w.number) + " pushed to " + repository_ + ":" +
                   tag_list + " (" + digest.substr(0, 19) + ", " + sent + " bytes sent in " + took +
                   " s)",
               "\"generation\":" + std::to_string(w.number) + ",\"manifest\":" + Quote(digest) +
                   ",\"tags\":" + Quote(tag_list) +
                   ",\"bytes_sent\":" + (sent.empty() ? "0" : sent) + ",\"seconds\":" + took);
        continue;
      }
      if (Newer(w.number)) {
        Report("pushing", "generation " + std::to_string(w.number) +
                              " was superseded while it was pushed; pushing the newest");
        continue;
      }
      ++failures;
      const long wait_s = std::min(60L, 1L << std::min(failures - 1, 6));
      Report("retrying",
             "generation " + std::to_string(w.number) + " failed to push (attempt " +
                 std::to_string(failures) + "), again in " + std::to_string(wait_s) +
                 " s: " + ErrorLine(ran),
             "\"generation\":" + std::to_string(w.number) + ",\"failures\":" +
                 std::to_string(failures) + ",\"last_error\":" + Quote(ErrorLine(ran)));
      if (!Sleep(std::chrono::seconds(wait_s), w.number)) return;
    }
  }

  bool Newer(uint64_t number) {
    std::lock_guard lock(mu_);
    return wanted_ && wanted_->number > number;
  }
  bool Stopping() {
    std::lock_guard lock(mu_);
    return stop_;
  }

  const ocifs::sdk::Settings settings_;
  std::string repository_, compression_;
  std::vector<std::string> tags_;
  milliseconds debounce_{500};

  std::mutex mu_;
  std::condition_variable cv_;
  std::optional<Wanted> wanted_;  // the newest generation told
  Clock::time_point wanted_at_;
  bool stop_ = false;
  std::thread worker_;  // started by the first generation
};

}  // namespace

OCIFS_PLUGIN(RegistrySync)
