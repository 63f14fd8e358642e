#include "core/image/image.h"

#include "core/support/atomic_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <condition_variable>
#include <ctime>
#include <deque>
#include <filesystem>
#include <map>
#include <mutex>
#include <regex>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/oci/digest_cache.h"
#include "core/oci/layer.h"
#include "core/python/pep440.h"
#include "core/support/text.h"

namespace ocifs {
namespace {

using json = nlohmann::json;

std::string EnvKey(const std::string& kv) { return kv.substr(0, kv.find('=')); }

void SetEnv(json& env, const std::string& key, const std::string& value) {
  for (auto& e : env) {
    if (e.is_string() && EnvKey(e.get<std::string>()) == key) {
      e = key + "=" + value;
      return;
    }
  }
  env.push_back(key + "=" + value);
}

std::optional<std::string> GetEnv(const json& env, const std::string& key) {
  for (const auto& e : env) {
    if (e.is_string() && EnvKey(e.get<std::string>()) == key) {
      std::string s = e.get<std::string>();
      return s.size() > key.size() ? s.substr(key.size() + 1) : "";
    }
  }
  return std::nullopt;
}

constexpr char kDefaultPath[] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// The user the container runs as: the setting, else the base's, else kDefaultUser.
std::string EffectiveUser(const ResolvedProject& p, const json& base_config) {
  if (p.user) return *p.user;
  std::string base_user = base_config.value("/config/User"_json_pointer, "");
  return base_user.empty() ? kDefaultUser : base_user;
}

// HOME when ocifs chose the user (kDefaultUser) and neither the base's Env nor the image's sets
// one: kDefaultHome. nullopt otherwise (the user's, or the base's, HOME stands).
std::optional<std::string> DefaultHome(const ResolvedProject& p, const json& base_config) {
  if (EffectiveUser(p, base_config) != kDefaultUser) return std::nullopt;
  for (const auto& [k, v] : p.env) {
    if (k == "HOME") return std::nullopt;
  }
  const json env = base_config.value("/config/Env"_json_pointer, json::array());
  if (env.is_array() && GetEnv(env, "HOME")) return std::nullopt;
  return std::string(kDefaultHome);
}

// Warns once when the (numeric, non-root) runtime user cannot read packed application files.
void WarnUnreadable(const std::vector<TarEntry>& entries, const std::string& user,
                    std::vector<std::string>& warnings) {
  static const std::regex kNum(R"((\d+)(?::\d+)?)");
  std::smatch m;
  if (!std::regex_match(user, m, kNum) || m[1].str() == "0") return;
  uint32_t uid = static_cast<uint32_t>(std::stoul(m[1].str()));
  size_t count = 0;
  std::string first;
  for (const auto& e : entries) {
    uint32_t need = e.type == TarEntry::Type::kDirectory ? 05
                    : e.type == TarEntry::Type::kFile    ? 04
                                                         : 0;
    if (need == 0 || e.uid == uid || (e.mode & need) == need) continue;
    if (count++ == 0) first = e.name;
  }
  if (count > 0) {
    warnings.push_back(fmt::format(
        "{} packed entr{} (first: `/{}`) cannot be read by the image's user {}: make them "
        "world-readable or set user to their owner",
        count, count == 1 ? "y" : "ies", first, user));
  }
}

std::string PipWrapper(const std::string& module, const std::string& attr) {
  std::string head = attr.substr(0, attr.find('.'));
  return fmt::format(
      "#!/usr/bin/env python3\n"
      "# -*- coding: utf-8 -*-\n"
      "import re\n"
      "import sys\n"
      "from {} import {}\n"
      "if __name__ == '__main__':\n"
      "    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])\n"
      "    sys.exit({}())\n",
      module, head, attr);
}

}  // namespace

std::string Rfc3339(int64_t epoch_seconds) {
  std::time_t t = static_cast<std::time_t>(epoch_seconds);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Result<std::vector<TarEntry>> DependencyConsoleScripts(const Tree& deps) {
  OCIFS_ASSIGN_OR_RETURN(auto entries, deps.ReadDir(""));
  std::vector<std::string> names;
  for (const auto& e : entries) names.push_back(e.name);
  std::sort(names.begin(), names.end());
  static const std::regex kEntry(
      R"(\s*([A-Za-z0-9_.\-]+)\s*=\s*([A-Za-z_][\w.]*)\s*:\s*([A-Za-z_][\w.]*)\s*(\[.*\])?\s*)");
  std::vector<TarEntry> out;
  std::set<std::string> seen;
  for (const auto& dist : names) {
    // Wheels install *.dist-info; Debian's python3-* packages often ship *.egg-info.
    if (!sdk::python::ParseDistDir(dist)) continue;
    std::string path = dist + "/entry_points.txt";
    auto st = deps.Lstat(path);
    if (!st.ok() || st->type != FileType::kRegular) continue;
    OCIFS_ASSIGN_OR_RETURN(std::string text, ReadSmallFile(deps, path));
    bool in_section = false;
    size_t i = 0;
    while (i < text.size()) {
      size_t j = text.find('\n', i);
      if (j == std::string::npos) j = text.size();
      std::string line = text.substr(i, j - i);
      i = j + 1;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      size_t first = line.find_first_not_of(" \t");
      if (first == std::string::npos || line[first] == '#' || line[first] == ';') continue;
      if (line[first] == '[') {
        in_section = line.substr(first).starts_with("[console_scripts]");
        continue;
      }
      std::smatch m;
      if (!in_section || !std::regex_match(line, m, kEntry)) continue;
      std::string name = m[1].str();
      if (!seen.insert(name).second) continue;  // the first distribution (in name order) wins
      TarEntry e;
      e.name = fmt::format("{}/bin/{}", kDepsPrefix, name);
      e.type = TarEntry::Type::kFile;
      e.mode = 0755;
      e.data = std::make_shared<const std::string>(PipWrapper(m[2].str(), m[3].str()));
      e.size = e.data->size();
      out.push_back(std::move(e));
    }
  }
  return out;
}

const std::shared_ptr<const IgnoreRules>& DependencyIgnoreRules() {
  static const std::shared_ptr<const IgnoreRules> kRules = [] {
    auto rules = std::make_shared<IgnoreRules>();
    for (const char* pattern : {"**/__pycache__", "**/*.pyc"}) {
      Status s = rules->Add(pattern, "the dependencies ignore list");
      if (!s.ok()) std::abort();  // constant patterns
    }
    return rules;
  }();
  return kRules;
}

namespace {

// Extension modules are built for one CPython (`mod.cpython-311-x86_64-linux-gnu.so`): ones built
// for another than the image's will not import. One warning names the versions and an example.
void WarnForeignExtensions(const std::vector<TarEntry>& entries, const ResolvedProject& p,
                           std::vector<std::string>& warnings) {
  const std::string want =
      "cpython-" + std::string(p.python).erase(1, 1);  // "3.12" -> "cpython-312"
  std::map<std::string, std::string> foreign;          // "cpython-311" -> the first such file
  for (const TarEntry& e : entries) {
    if (e.type != TarEntry::Type::kFile || !e.name.ends_with(".so")) continue;
    const size_t at = e.name.rfind(".cpython-");
    if (at == std::string::npos) continue;
    const size_t end = e.name.find('-', at + 9);
    if (end == std::string::npos) continue;
    const std::string tag = e.name.substr(at + 1, end - at - 1);  // "cpython-311"
    if (tag != want) foreign.emplace(tag, e.name.substr(e.name.rfind('/') + 1));
  }
  if (foreign.empty()) return;
  std::vector<std::string> names;
  for (const auto& [tag, file] : foreign) {
    names.push_back(
        fmt::format("CPython {}.{} (e.g. `{}`)", tag.substr(8, 1), tag.substr(9), file));
  }
  warnings.push_back(fmt::format(
      "dependencies: extension modules built for {} will not import in the image's Python {} "
      "({}); install the dependencies with Python {}, or set --python",
      fmt::join(names, ", "), p.python, p.python_reason, p.python));
}

}  // namespace

namespace {

// The layer of one dependencies tree at kDepsPrefix's site-packages, with the console scripts
// its distributions declare; what it leaves out goes in `plan` as `label: ...`.
Result<PlannedLayer> PackDependencies(const ResolvedProject& p, const DepsSource& deps,
                                      const std::string& name, const std::string& label,
                                      ImagePlan& plan,
                                      std::function<void(const std::string&)> hook) {
  PackOptions o;
  o.dest = fmt::format("{}/lib/python{}/site-packages", kDepsPrefix, p.python);
  o.strict = p.strict;
  o.ignore = DependencyIgnoreRules().get();
  o.on_directory = std::move(hook);
  auto scripts = DependencyConsoleScripts(*deps.tree);
  if (!scripts.ok()) return scripts.status().WithContext(name + " layer");
  o.room = GeneratedRoom(*scripts);
  auto packed = PackTree(deps.tree, o);
  if (!packed.ok()) return packed.status().WithContext(name + " layer");
  WarnForeignExtensions(packed->entries, p, plan.warnings);
  if (const auto& left = packed->warnings; !left.empty()) {
    for (const auto& w : left) plan.left_out.push_back(fmt::format("{}: {}", label, w));
    plan.warnings.push_back(fmt::format(
        "{}: left out {} entr{} (links that are absolute or leave the tree, special files), the "
        "first: {}{}",
        label, left.size(), left.size() == 1 ? "y" : "ies", left.front(),
        left.size() > 1 ? "; `ocifs inspect` lists them all under left_out" : ""));
  }
  const size_t script_count = scripts->size();
  OCIFS_RETURN_IF_ERROR(AddGeneratedFiles(packed->entries, std::move(scripts).value()));
  return PlannedLayer{name,
                      fmt::format("ocifs: {} for Python {} (site-packages, {} console scripts)",
                                  name, p.python, script_count),
                      VirtualTar::Build(std::move(packed->entries), p.epoch)};
}

}  // namespace

Result<PlannedLayer> PlanApplicationLayer(const ResolvedProject& p,
                                          const nlohmann::json& base_config,
                                          std::vector<std::string>& warnings,
                                          std::function<void(const std::string&)> on_directory) {
  PackOptions o;
  o.dest = p.workdir.substr(1);
  o.uid = p.file_uid;
  o.gid = p.file_gid;
  o.strict = p.strict;
  o.ignore = &p.ignore;
  o.secrets = &SecretRules();
  o.on_directory = std::move(on_directory);
  // The default user's HOME, its own (the root file system may be read-only; it is a volume),
  // added unless the project packs a directory there.
  std::vector<TarEntry> home;
  if (const std::optional<std::string> path = DefaultHome(p, base_config)) {
    TarEntry& dir = home.emplace_back();
    dir.name = path->substr(1);
    dir.type = TarEntry::Type::kDirectory;
    dir.mode = 0700;
    dir.uid = dir.gid = kDefaultUid;
  }
  o.room = GeneratedRoom(home);
  auto packed = PackTree(p.tree, o);
  if (!packed.ok()) return packed.status().WithContext("application layer");
  const size_t before = warnings.size();
  for (auto& w : packed->warnings) warnings.push_back(w);
  WarnUnreadable(packed->entries, EffectiveUser(p, base_config), warnings);
  if (!home.empty()) {
    const std::string& name = home.front().name;
    const bool packed_there = std::any_of(packed->entries.begin(), packed->entries.end(),
                                          [&](const TarEntry& e) { return e.name == name; });
    if (!packed_there) OCIFS_RETURN_IF_ERROR(AddGeneratedFiles(packed->entries, std::move(home)));
  }
  if (p.strict && warnings.size() > before) {
    return InvalidArgument(warnings.back() + " (an error with --strict)");
  }
  if (const auto& secrets = packed->left_out_secrets; !secrets.empty()) {
    // Said, and no error under --strict: leaving them out is the safe default.
    const size_t shown = std::min<size_t>(secrets.size(), 8);
    warnings.push_back(fmt::format(
        "left out {} secret-like file(s): `{}`{}; to ship one on purpose, name it in `include` "
        "(--include or [tool.ocifs] include)",
        secrets.size(), fmt::join(secrets.begin(), secrets.begin() + shown, "`, `"),
        shown < secrets.size() ? fmt::format(" and {} more", secrets.size() - shown) : ""));
  }
  return PlannedLayer{"application", fmt::format("ocifs: application files in {}", p.workdir),
                      VirtualTar::Build(std::move(packed->entries), p.epoch)};
}

Result<ImagePlan> PlanImage(std::shared_ptr<const ResolvedProject> project, BaseImage base,
                            const PlannedLayer* reuse_dependencies,
                            const PlanDirectoryHook& on_directory) {
  auto hook = [&on_directory](PlanRoot root) -> std::function<void(const std::string&)> {
    if (!on_directory) return {};
    return [&on_directory, root](const std::string& dir) { on_directory(root, dir); };
  };
  ImagePlan plan;
  const ResolvedProject& p = *project;
  plan.warnings = p.warnings;
  plan.warnings.insert(plan.warnings.end(), base.warnings.begin(), base.warnings.end());

  if (p.deps && reuse_dependencies != nullptr) {
    plan.layers.push_back(*reuse_dependencies);
  } else if (p.deps) {
    OCIFS_ASSIGN_OR_RETURN(PlannedLayer layer,
                           PackDependencies(p, *p.deps, "dependencies", "dependencies", plan,
                                            hook(PlanRoot::kDependencies)));
    plan.layers.push_back(std::move(layer));
  }
  for (size_t i = 0; i < p.extra_deps.size(); ++i) {
    const std::string name = p.extra_deps.size() == 1
                                 ? std::string(kExtraDependenciesLayer)
                                 : fmt::format("{} {}", kExtraDependenciesLayer, i + 1);
    OCIFS_ASSIGN_OR_RETURN(
        PlannedLayer layer,
        PackDependencies(p, p.extra_deps[i], name,
                         fmt::format("extra-deps `{}`", p.extra_deps[i].host_path), plan, {}));
    plan.layers.push_back(std::move(layer));
  }
  if (p.strict && plan.warnings.size() > p.warnings.size()) {
    return InvalidArgument(plan.warnings.back() + " (an error with --strict)");
  }
  OCIFS_ASSIGN_OR_RETURN(PlannedLayer app, PlanApplicationLayer(p, base.config, plan.warnings,
                                                                hook(PlanRoot::kProject)));
  plan.layers.push_back(std::move(app));
  plan.base = std::move(base);
  plan.project = std::move(project);
  return plan;
}

void HashProgress::Begin(const std::vector<std::pair<std::string, uint64_t>>& layers) {
  std::lock_guard lock(mu_);
  layers_.clear();
  for (const auto& [name, total] : layers) layers_.push_back({name, 0, total, State::kPending});
}

void HashProgress::Advance(size_t layer, uint64_t bytes) {
  std::lock_guard lock(mu_);
  if (layer < layers_.size()) layers_[layer].done += bytes;
}

void HashProgress::Set(size_t layer, State state) {
  std::lock_guard lock(mu_);
  if (layer < layers_.size()) layers_[layer].state = state;
}

std::vector<HashProgress::Layer> HashProgress::Snapshot() const {
  std::lock_guard lock(mu_);
  return layers_;
}

uint64_t HashProgress::bytes_done() const {
  std::lock_guard lock(mu_);
  uint64_t n = 0;
  for (const auto& l : layers_) n += l.done;
  return n;
}

uint64_t HashProgress::bytes_total() const {
  std::lock_guard lock(mu_);
  uint64_t n = 0;
  for (const auto& l : layers_) n += l.total;
  return n;
}

std::string_view StateName(HashProgress::State state) {
  switch (state) {
    case HashProgress::State::kPending:
      return "pending";
    case HashProgress::State::kHashing:
      return "hashing";
    case HashProgress::State::kFromCache:
      return "from cache";
    case HashProgress::State::kHashed:
      return "hashed";
    case HashProgress::State::kFailed:
      return "failed";
  }
  return "unknown";
}

namespace {

// HashLayer's buffers, one mapping. Each 4 KiB page of fresh memory costs a page fault when
// first written, and on a virtual machine a fault is an exit to the hypervisor: the benchmark
// corpus's cold mount took 1,024 of them to fill four 1 MiB buffers. So a mapping of 2 MiB or
// more is 2 MiB-aligned and advised MADV_HUGEPAGE, and where transparent huge pages are allowed
// ("madvise" or "always" in /sys/kernel/mm/transparent_hugepage/enabled) it takes one fault per
// 2 MiB. Elsewhere the advice does nothing and the pages come one by one, as from malloc.
class ChunkBuffers {
 public:
  explicit ChunkBuffers(size_t size) : size_(size) {
    constexpr size_t kHuge = 2 << 20;
    if (size < kHuge) {
      small_.reset(new std::byte[size]);
      return;
    }
    const size_t mapped = size + kHuge;
    void* p = ::mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    // The aligned part is kept; the rest of the mapping, before and after it, is returned.
    const auto start = reinterpret_cast<uintptr_t>(p);
    const uintptr_t aligned = (start + kHuge - 1) & ~uintptr_t{kHuge - 1};
    if (aligned > start) ::munmap(p, aligned - start);
    if (const uintptr_t end = start + mapped; end > aligned + size) {
      ::munmap(reinterpret_cast<void*>(aligned + size), end - aligned - size);
    }
    mapped_ = reinterpret_cast<std::byte*>(aligned);
    (void)::madvise(mapped_, size, MADV_HUGEPAGE);  // advice: EINVAL without THP is fine
  }
  ~ChunkBuffers() {
    if (mapped_ != nullptr) ::munmap(mapped_, size_);
  }
  ChunkBuffers(const ChunkBuffers&) = delete;
  ChunkBuffers& operator=(const ChunkBuffers&) = delete;

  std::byte* data() const { return mapped_ != nullptr ? mapped_ : small_.get(); }

 private:
  size_t size_;
  std::byte* mapped_ = nullptr;
  std::unique_ptr<std::byte[]> small_;
};

}  // namespace

// Hashes a layer with reading and hashing overlapped: a reader thread fills 1 MiB buffers with
// ReadAt (file opens, fstat, pread), this thread hashes them in order. On two cores this takes
// about the time of the slower of the two instead of their sum.
//
// Each chunk also goes to `on_bytes` (a server stores it in the page cache), and that third part
// of the work goes to whichever thread is free: the reader when every buffer is taken, the hasher
// when no chunk waits to be hashed. Measured inside a cold mount of the benchmark corpus, reading
// took 97-113 ms, storing 49-62 and SHA-256 122-126: with the stores all on the reader, the hasher
// waited 37-57 ms for chunks, and a thread of their own (three busy threads on two cores) was
// slower. A buffer is free again once it is both hashed and stored. The first chunk is stored by
// the reader before it is hashed or any other chunk is read (see LayerBytesFn).
Result<Digest> HashLayer(const VirtualTar& tar, HashProgress* progress, size_t layer,
                         const LayerBytesFn& on_bytes) {
  constexpr size_t kSlots = 4;
  // 1 MiB chunks, smaller for a small layer; left uninitialized: an edit re-hashes a small
  // application layer, and zeroing and faulting in 4 MiB would cost more than hashing it.
  const size_t chunk = static_cast<size_t>(std::min<uint64_t>(1 << 20, tar.size()));
  struct Slot {
    std::byte* data = nullptr;
    uint64_t offset = 0;
    size_t length = 0;
    bool hashed = false;
    bool stored = false;
  };
  const ChunkBuffers buffers(kSlots * chunk);
  std::array<Slot, kSlots> slots;
  for (size_t i = 0; i < kSlots; ++i) slots[i].data = buffers.data() + i * chunk;
  // Guards the queues, the slots' flags, reader_done and read_status.
  std::mutex mu;
  std::condition_variable cv;
  // Free buffers; chunks read and not yet hashed, in order; chunks read and not yet stored.
  std::deque<size_t> empty = {0, 1, 2, 3}, to_hash, to_store;
  bool reader_done = false;
  Status read_status;

  // A slot is free once hashed and stored. REQUIRES: mu held.
  auto release_if_done = [&](size_t slot) {
    if (slots[slot].hashed && slots[slot].stored) {
      empty.push_back(slot);
      cv.notify_all();
    }
  };
  // Stores the first chunk of to_store (not empty); called and returns with `lock` held.
  auto store_next = [&](std::unique_lock<std::mutex>& lock) {
    const size_t slot = to_store.front();
    to_store.pop_front();
    lock.unlock();
    const Slot& s = slots[slot];
    on_bytes(tar, s.offset, std::span(s.data, s.length));
    lock.lock();
    slots[slot].stored = true;
    release_if_done(slot);
  };

  std::jthread reader([&] {
    std::unique_lock lock(mu);
    for (uint64_t off = 0; off < tar.size();) {
      cv.wait(lock, [&] { return !empty.empty() || !to_store.empty(); });
      if (empty.empty()) {  // every buffer waits to be hashed or stored: store one
        store_next(lock);
        continue;
      }
      const size_t slot = empty.front();
      empty.pop_front();
      lock.unlock();
      Slot& s = slots[slot];
      s.offset = off;
      s.length = static_cast<size_t>(std::min<uint64_t>(chunk, tar.size() - off));
      s.hashed = false;
      s.stored = !on_bytes;
      Status status = progress != nullptr && progress->cancelled
                          ? Status(Code::kFailedPrecondition, "hashing was cancelled")
                          : tar.ReadAt(off, std::span(s.data, s.length));
      if (status.ok() && off == 0 && on_bytes) {
        on_bytes(tar, off, std::span(s.data, s.length));
        s.stored = true;
      }
      lock.lock();
      if (!status.ok()) {
        read_status = std::move(status);
        break;
      }
      to_hash.push_back(slot);
      if (!s.stored) to_store.push_back(slot);
      off += s.length;
      cv.notify_all();
    }
    // The stores left (the hasher takes some too when it has nothing to hash); none after a
    // failure.
    while (read_status.ok() && !to_store.empty()) store_next(lock);
    reader_done = true;
    cv.notify_all();
  });

  Sha256 h;
  {
    std::unique_lock lock(mu);
    for (;;) {
      cv.wait(lock, [&] { return !to_hash.empty() || !to_store.empty() || reader_done; });
      if (!read_status.ok()) break;
      if (!to_hash.empty()) {
        const size_t slot = to_hash.front();
        to_hash.pop_front();
        lock.unlock();
        const std::span<const std::byte> bytes(slots[slot].data, slots[slot].length);
        h.Update(bytes);
        if (progress) progress->Advance(layer, bytes.size());
        lock.lock();
        slots[slot].hashed = true;
        release_if_done(slot);
      } else if (!to_store.empty()) {  // nothing to hash yet: take a store off the reader
        store_next(lock);
      } else {
        break;  // the reader is done, everything is hashed and stored
      }
    }
  }
  reader.join();
  if (!read_status.ok()) return read_status;
  return h.Finish();
}

namespace {

// As Docker writes it: Test ["CMD", words...] (or ["NONE"]), durations in nanoseconds, zero
// fields left out.
json HealthcheckJson(const Healthcheck& h) {
  json test = json::array({h.test.empty() ? "NONE" : "CMD"});
  for (const auto& w : h.test) test.push_back(w);
  json out = {{"Test", test}};
  if (h.interval_ns) out["Interval"] = h.interval_ns;
  if (h.timeout_ns) out["Timeout"] = h.timeout_ns;
  if (h.start_period_ns) out["StartPeriod"] = h.start_period_ns;
  if (h.retries) out["Retries"] = h.retries;
  return out;
}

}  // namespace

nlohmann::json ImageConfig(const ImagePlan& plan, const std::vector<Digest>& own_diff_ids) {
  const ResolvedProject& p = *plan.project;
  json config = plan.base.config.is_object() ? plan.base.config : json::object();
  json c = config.value("config", json::object());
  if (!c.is_object()) c = json::object();
  json env = c.value("Env", json::array());
  if (!env.is_array()) env = json::array();
  if (!p.path_prepend.empty()) {
    std::string path = fmt::format("{}", fmt::join(p.path_prepend, ":"));
    SetEnv(env, "PATH", path + ":" + GetEnv(env, "PATH").value_or(kDefaultPath));
  }
  for (const auto& [k, v] : p.env) SetEnv(env, k, v);
  if (auto home = DefaultHome(p, plan.base.config)) SetEnv(env, "HOME", *home);
  c["Env"] = env;
  // The writable places of a read-only root file system: /tmp, HOME, the user's volumes.
  json volumes = c.value("Volumes", json::object());
  if (!volumes.is_object()) volumes = json::object();
  volumes["/tmp"] = json::object();
  if (auto home = GetEnv(env, "HOME"); home && ValidateVolume(*home).ok())
    volumes[*home] = json::object();
  for (const auto& v : p.volumes) volumes[v] = json::object();
  c["Volumes"] = volumes;
  if (p.entrypoint) {
    c["Entrypoint"] = *p.entrypoint;
    // As in a Dockerfile: a new ENTRYPOINT resets the base's CMD.
    if (p.cmd) {
      c["Cmd"] = *p.cmd;
    } else {
      c.erase("Cmd");
    }
  } else if (p.cmd) {
    c["Cmd"] = *p.cmd;
  }
  c["WorkingDir"] = p.workdir;
  c["User"] = EffectiveUser(p, config);
  json labels = c.value("Labels", json::object());
  if (!labels.is_object()) labels = json::object();
  for (const auto& [k, v] : p.labels) labels[k] = v;
  if (!labels.empty()) c["Labels"] = labels;
  json ports = c.value("ExposedPorts", json::object());
  if (!ports.is_object()) ports = json::object();
  for (const auto& port : p.expose) ports[port] = json::object();
  if (!ports.empty()) c["ExposedPorts"] = ports;
  if (p.healthcheck) c["Healthcheck"] = HealthcheckJson(*p.healthcheck);
  config["config"] = c;

  const std::string created = Rfc3339(p.epoch);
  config["created"] = created;
  config["os"] = p.platform.os;
  config["architecture"] = p.platform.architecture;
  if (p.platform.variant.empty()) {
    config.erase("variant");
  } else {
    config["variant"] = p.platform.variant;
  }
  json diff_ids = json::array();
  for (const auto& l : plan.base.layers) diff_ids.push_back(l.diff_id.str());
  for (const auto& d : own_diff_ids) diff_ids.push_back(d.str());
  config["rootfs"] = {{"type", "layers"}, {"diff_ids", diff_ids}};
  json history = config.value("history", json::array());
  if (!history.is_array()) history = json::array();
  // One non-empty history entry per layer: a base that recorded fewer for its layers (history is
  // optional) gets entries for the rest, so that tools pairing history with layers agree.
  const size_t base_entries =
      static_cast<size_t>(std::count_if(history.begin(), history.end(), [](const json& h) {
        return !(h.is_object() && h.contains("empty_layer") && h["empty_layer"] == true);
      }));
  for (size_t i = base_entries; i < plan.base.layers.size(); ++i) {
    history.push_back({{"created_by", "a layer of the base image (it recorded no history)"}});
  }
  for (const auto& l : plan.layers)
    history.push_back({{"created", created}, {"created_by", l.created_by}});
  config["history"] = history;
  // Fields that describe the base's build, not this image.
  for (const char* k : {"container", "container_config", "docker_version", "author"})
    config.erase(k);

  return config;
}

namespace {

// The own layers of every variant's and platform's plan, each distinct tar once: they share the
// layers whose content is equal (the application layer; dependencies from the same directory).
struct DistinctLayers {
  struct Layer {
    std::string name;  // "application"; "dependencies (linux/arm64)" when platforms differ
    std::shared_ptr<const VirtualTar> tar;
  };
  std::vector<Layer> layers;
  std::vector<std::vector<size_t>> of_plan;  // per plan, per own layer: its index in `layers`
};

DistinctLayers FindDistinctLayers(const std::vector<const ImagePlan*>& plans) {
  DistinctLayers out;
  std::map<std::pair<Digest, uint64_t>, size_t> by_key;  // only when there are several plans
  for (const ImagePlan* plan : plans) {
    std::vector<size_t>& mine = out.of_plan.emplace_back();
    for (const PlannedLayer& l : plan->layers) {
      if (plans.size() > 1) {
        auto [it, added] =
            by_key.try_emplace({l.tar->CacheKey(), l.tar->size()}, out.layers.size());
        if (!added) {
          mine.push_back(it->second);
          continue;
        }
      }
      // "application", else "application (dev)", else "application (dev, linux/arm64)".
      auto taken = [&](const std::string& name) {
        return std::any_of(out.layers.begin(), out.layers.end(),
                           [&](const auto& d) { return d.name == name; });
      };
      const std::string& variant = plan->project->variant;
      std::string name = l.name;
      if (taken(name) && !variant.empty()) name = fmt::format("{} ({})", l.name, variant);
      if (taken(name)) {
        name = fmt::format("{} ({}{})", l.name, variant.empty() ? "" : variant + ", ",
                           plan->project->platform.str());
      }
      mine.push_back(out.layers.size());
      out.layers.push_back({std::move(name), l.tar});
    }
  }
  return out;
}

// An image's manifest and the artifacts plugins attached to it, added to `blobs`.
struct BuiltImage {
  Descriptor manifest;
  Digest config;
  std::vector<std::pair<const PlannedArtifact*, Descriptor>> artifacts;
};

BuiltImage AddImage(const ImagePlan& plan, const std::vector<Digest>& own_digests,
                    Generation::Contents& blobs) {
  const ResolvedProject& p = *plan.project;
  BuiltImage out;
  const std::string created = Rfc3339(p.epoch);
  const std::string config_text = CanonicalJson(ImageConfig(plan, own_digests));
  out.config = Digest::Of(config_text);

  json layers = json::array();
  for (const auto& l : plan.base.layers) {
    layers.push_back(l.descriptor.ToJson());
    blobs.Add(l.descriptor, l.blob);
  }
  for (size_t i = 0; i < plan.layers.size(); ++i) {
    Descriptor d{kMediaTypeOciLayer, own_digests[i], plan.layers[i].tar->size()};
    layers.push_back(d.ToJson());
    blobs.Add(d, std::make_shared<TarBlob>(plan.layers[i].tar));
  }
  json annotations = {{"org.opencontainers.image.created", created}};
  if (!p.pyproject.name.empty()) annotations["org.opencontainers.image.title"] = p.pyproject.name;
  if (!p.pyproject.version.empty())
    annotations["org.opencontainers.image.version"] = p.pyproject.version;
  if (plan.base.manifest_digest)
    annotations["org.opencontainers.image.base.digest"] = plan.base.manifest_digest->str();
  if (!plan.base.name.empty()) annotations["org.opencontainers.image.base.name"] = plan.base.name;
  const Descriptor config{kMediaTypeOciConfig, out.config, config_text.size()};
  json manifest = {
      {"schemaVersion", 2}, {"mediaType", kMediaTypeOciManifest}, {"config", config.ToJson()},
      {"layers", layers},   {"annotations", annotations},
  };
  const std::string manifest_text = CanonicalJson(manifest);
  out.manifest = {kMediaTypeOciManifest, Digest::Of(manifest_text), manifest_text.size()};
  blobs.Add(config, std::make_shared<MemoryBlob>(config_text));
  blobs.Add(out.manifest, std::make_shared<MemoryBlob>(manifest_text));

  // Artifacts plugins attached: one manifest per document, its subject the image manifest.
  const std::string empty = "{}";  // the empty descriptor's blob, every artifact's config
  const Descriptor empty_descriptor{kMediaTypeOciEmpty, Digest::Of(empty), empty.size()};
  json empty_config = empty_descriptor.ToJson();
  empty_config["data"] = "e30=";  // base64 of `{}`, embedded as image-spec 1.1 suggests
  if (!plan.artifacts.empty()) blobs.Add(empty_descriptor, std::make_shared<MemoryBlob>(empty));
  for (const PlannedArtifact& a : plan.artifacts) {
    const Descriptor doc{a.media_type, Digest::Of(*a.content), a.content->size()};
    blobs.Add(doc, std::make_shared<MemoryBlob>(*a.content));
    const std::string text = CanonicalJson({
        {"schemaVersion", 2},
        {"mediaType", kMediaTypeOciManifest},
        {"artifactType", a.artifact_type},
        {"config", empty_config},
        {"layers", json::array({doc.ToJson()})},
        {"subject", out.manifest.ToJson()},
        {"annotations", {{"org.opencontainers.image.created", created}}},
    });
    const Descriptor d{kMediaTypeOciManifest, Digest::Of(text), text.size()};
    blobs.Add(d, std::make_shared<MemoryBlob>(text));
    out.artifacts.emplace_back(&a, d);
  }
  return out;
}

// "linux-arm64", "linux-arm-v7": a platform in a ref name.
std::string PlatformSlug(const Platform& platform) {
  std::string s = platform.str();
  std::replace(s.begin(), s.end(), '/', '-');
  return s;
}

}  // namespace

std::vector<const ImagePlan*> VariantPlans(const ImagePlan& plan) {
  std::vector<const ImagePlan*> out = {&plan};
  for (const ImagePlan& v : plan.variants) out.push_back(&v);
  return out;
}

std::vector<const ImagePlan*> PlatformPlans(const ImagePlan& plan) {
  std::vector<const ImagePlan*> out = {&plan};
  for (const ImagePlan& other : plan.other_platforms) out.push_back(&other);
  return out;
}

Result<std::shared_ptr<const Generation>> BuildGeneration(const ImagePlan& plan, uint64_t number,
                                                          const BuildOptions& options) {
  HashProgress* progress = options.progress;
  Generation::Contents gen;
  gen.number = number;

  // Every image of every variant and platform; equal layers among them are hashed once.
  std::vector<const ImagePlan*> plans;
  for (const ImagePlan* variant : VariantPlans(plan)) {
    for (const ImagePlan* one : PlatformPlans(*variant)) plans.push_back(one);
  }
  const DistinctLayers distinct = FindDistinctLayers(plans);
  if (progress) {
    std::vector<std::pair<std::string, uint64_t>> layers;
    for (const auto& l : distinct.layers) layers.emplace_back(l.name, l.tar->size());
    progress->Begin(layers);
  }
  // One thread per distinct layer (there are at most a handful): the cache, else hashing.
  const size_t n = distinct.layers.size();
  std::vector<Result<Digest>> digests(n, Result<Digest>(Internal("not hashed")));
  std::vector<std::vector<std::string>> warnings(n);
  std::vector<char> from_cache(n, 0);  // not vector<bool>: the threads write different elements
  {
    std::vector<std::jthread> workers;
    for (size_t i = 0; i < n; ++i) {
      workers.emplace_back([&, i] {
        const VirtualTar& tar = *distinct.layers[i].tar;
        const Digest key = options.cache ? tar.CacheKey() : Digest();
        if (options.cache) {
          auto hit = options.cache->Lookup(key, &warnings[i]);
          if (hit && hit->size == tar.size()) {
            digests[i] = hit->digest;
            from_cache[i] = 1;
            if (progress) {
              progress->Advance(i, tar.size());
              progress->Set(i, HashProgress::State::kFromCache);
            }
            return;
          }
        }
        if (progress) progress->Set(i, HashProgress::State::kHashing);
        auto d = HashLayer(tar, progress, i, options.on_layer_bytes);
        if (!d.ok()) {
          if (progress) progress->Set(i, HashProgress::State::kFailed);
          digests[i] = d.status().WithContext(distinct.layers[i].name + " layer");
          return;
        }
        if (progress) progress->Set(i, HashProgress::State::kHashed);
        if (options.cache) {
          Status s = options.cache->Store(key, {*d, tar.size()});
          if (!s.ok())
            warnings[i].push_back("could not store a digest in the cache: " + s.message());
        }
        digests[i] = std::move(d);
      });
    }
  }
  for (size_t i = 0; i < n; ++i) {
    if (!digests[i].ok()) return digests[i].status();
    for (auto& w : warnings[i]) gen.warnings.push_back(std::move(w));
    gen.from_cache.push_back(from_cache[i] != 0);
    gen.own_layers.push_back({distinct.layers[i].name, Descriptor{kMediaTypeOciLayer, *digests[i],
                                                                  distinct.layers[i].tar->size()}});
  }

  std::vector<BuiltImage> images;
  for (size_t k = 0; k < plans.size(); ++k) {
    std::vector<Digest> own;
    for (size_t i : distinct.of_plan[k]) own.push_back(*digests[i]);
    images.push_back(AddImage(*plans[k], own, gen));
  }
  gen.config_digest = images.front().config;

  // Each variant's images, in `plans` from `first` on: its tags name the image manifest, or for
  // several platforms an image index of theirs.
  size_t first = 0;
  std::vector<IndexEntry> artifacts;
  for (const ImagePlan* variant : VariantPlans(plan)) {
    const ResolvedProject& p = *variant->project;
    const size_t count = 1 + variant->other_platforms.size();
    Descriptor top = images[first].manifest;
    std::optional<Platform> top_platform = p.platform;
    if (count > 1) {
      json manifests = json::array();
      for (size_t k = first; k < first + count; ++k) {
        json d = images[k].manifest.ToJson();
        d["platform"] = PlatformJson(plans[k]->project->platform);
        manifests.push_back(d);
      }
      json annotations = {{"org.opencontainers.image.created", Rfc3339(p.epoch)}};
      if (!p.pyproject.name.empty())
        annotations["org.opencontainers.image.title"] = p.pyproject.name;
      if (!p.pyproject.version.empty())
        annotations["org.opencontainers.image.version"] = p.pyproject.version;
      const std::string text = CanonicalJson({{"schemaVersion", 2},
                                              {"mediaType", kMediaTypeOciIndex},
                                              {"manifests", manifests},
                                              {"annotations", annotations}});
      top = {kMediaTypeOciIndex, Digest::Of(text), text.size()};
      gen.Add(top, std::make_shared<MemoryBlob>(text));
      top_platform.reset();
    }
    if (variant == &plan) gen.manifest_digest = top.digest;
    // index.json: one descriptor per tag, then each artifact once per tag: "TAG.SUFFIX", or
    // "TAG.PLATFORM.SUFFIX" ("latest.linux-arm64.sbom.spdx") for several platforms; images
    // first, artifacts after every variant's images.
    for (const auto& tag : p.tags) gen.index.push_back({top, tag, "", top_platform, p.variant});
    for (const auto& tag : p.tags) {
      for (size_t k = first; k < first + count; ++k) {
        for (const auto& [a, desc] : images[k].artifacts) {
          // Unique: CheckRefNames when the plan was made.
          artifacts.push_back(
              {desc, ArtifactRefName(tag, count > 1, plans[k]->project->platform, a->ref_suffix),
               a->artifact_type, std::nullopt, p.variant});
        }
      }
    }
    first += count;
  }
  for (IndexEntry& a : artifacts) gen.index.push_back(std::move(a));
  return std::make_shared<const Generation>(std::move(gen));
}

}  // namespace ocifs

namespace ocifs {

std::string ArtifactRefName(std::string_view tag, bool several_platforms, const Platform& platform,
                            std::string_view suffix) {
  return several_platforms ? fmt::format("{}.{}.{}", tag, PlatformSlug(platform), suffix)
                           : fmt::format("{}.{}", tag, suffix);
}

Status CheckRefNames(const ImagePlan& plan) {
  // Every variant's tags, each naming one image.
  std::map<std::string, std::string> variant_of;  // tag -> variant ("" for the unnamed image)
  auto name = [](const std::string& v) {
    return v.empty() ? std::string("the unnamed image") : "variant `" + v + "`";
  };
  for (const ImagePlan* variant : VariantPlans(plan)) {
    for (const auto& tag : variant->project->tags) {
      auto [it, added] = variant_of.emplace(tag, variant->project->variant);
      if (!added) {
        return InvalidArgument(
            fmt::format("tag `{}` names both {} and {}; give one of them other tags", tag,
                        name(it->second), name(variant->project->variant)));
      }
    }
  }
  for (const ImagePlan* variant : VariantPlans(plan)) {
    const std::vector<const ImagePlan*> plans = PlatformPlans(*variant);
    for (const auto& tag : variant->project->tags) {
      for (const ImagePlan* one : plans) {
        for (const PlannedArtifact& a : one->artifacts) {
          const std::string ref =
              ArtifactRefName(tag, plans.size() > 1, one->project->platform, a.ref_suffix);
          if (variant_of.contains(ref)) {
            return InvalidArgument(fmt::format(
                "tag `{}` is also the ref name of plugin `{}`'s artifact for tag `{}`; rename "
                "the tag",
                ref, a.plugin, tag));
          }
        }
      }
    }
  }
  return Status::Ok();
}

}  // namespace ocifs
