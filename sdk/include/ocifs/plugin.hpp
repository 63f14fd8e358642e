// A C++20 helper for writing ocifs plugins; header-only, on top of plugin.h (which is the ABI;
// this file is not: it is compiled into each plugin, so it may change between SDK releases
// without breaking a built plugin).
//
// One macro turns a class into the C entry point:
//
//   class LabelPlugin {
//    public:
//     static constexpr const char* kName = "label";
//     static constexpr const char* kVersion = "1.0.0";
//     static constexpr const char* kDescription = "Adds a label";
//     explicit LabelPlugin(const ocifs::sdk::Settings& settings);   // or a default constructor
//     void Detect(ocifs::sdk::Context& ctx, const ocifs::sdk::Project& project,
//                 ocifs::sdk::Config& config);                      // the detect capability
//   };
//   OCIFS_PLUGIN(LabelPlugin)
//
// The capabilities are the member functions the class has (found at compile time):
//   void Detect(Context&, const Project&, Config&);
//   void WriteLayer(Context&, const Project&, LayerWriter&);   with static kLayerName
//   void WriteArtifacts(Context&, const Project&, Artifacts&);
//   void OnGeneration(Context&, const Generation&);
//
// Exceptions never cross the boundary: ocifs::sdk::Error becomes its code and message, any other
// std::exception OCIFS_ERR_FAILED with what(), anything else OCIFS_ERR_INTERNAL. The host calls an
// instance from one thread at a time; the views handed to a member function are valid until it
// returns (see plugin.h for the whole contract).
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <initializer_list>
#include <map>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "ocifs/plugin.h"

namespace ocifs::sdk {

inline std::string_view View(ocifs_str s) { return s.len ? std::string_view(s.ptr, s.len) : ""; }
inline ocifs_str Str(std::string_view s) { return ocifs_str{s.data(), s.size()}; }

// Throw it to return `code` with `message` from a plugin function.
class Error : public std::runtime_error {
 public:
  explicit Error(std::string message, ocifs_result code = OCIFS_ERR_FAILED)
      : std::runtime_error(std::move(message)), code_(code) {}
  ocifs_result code() const { return code_; }

 private:
  ocifs_result code_;
};

// The plugin's settings (see ocifs_setting), by key.
class Settings {
 public:
  Settings() = default;
  explicit Settings(const ocifs_init_input& in) {
    for (uint32_t i = 0; i < in.settings_count; ++i)
      values_.emplace(std::string(View(in.settings[i].key)),
                      std::string(View(in.settings[i].value)));
    if (OCIFS_HAS_FIELD(&in, ocifs_init_input, cache_dir)) cache_dir_ = View(in.cache_dir);
    if (OCIFS_HAS_FIELD(&in, ocifs_init_input, set_status)) {
      host_executable_ = View(in.host_executable);
      status_host_ = in.status_host;
      set_status_ = in.set_status;
    }
  }
  // Not settings either (since ABI 0.3): the ocifs executable, and a status reporter that may be
  // kept and called from any thread until the instance is destroyed (see ocifs_init_input).
  const std::string& host_executable() const { return host_executable_; }
  void SetStatus(std::string_view json) const {
    if (set_status_ != nullptr) set_status_(status_host_, Str(json));
  }
  // Not a setting but given with them: the plugin's cache directory (see ocifs_init_input);
  // empty when there is none.
  const std::string& cache_dir() const { return cache_dir_; }
  std::optional<std::string_view> Get(std::string_view key) const {
    auto it = values_.find(std::string(key));
    if (it == values_.end()) return std::nullopt;
    return std::string_view(it->second);
  }
  std::string_view GetOr(std::string_view key, std::string_view fallback) const {
    return Get(key).value_or(fallback);
  }
  // Throws an INVALID_ARGUMENT Error naming the first key that is not in `known`.
  void RequireKnown(std::initializer_list<std::string_view> known) const {
    for (const auto& [key, value] : values_) {
      bool found = false;
      for (std::string_view k : known) found = found || k == key;
      if (!found) throw Error("unknown setting `" + key + "`", OCIFS_ERR_INVALID_ARGUMENT);
    }
  }
  const std::map<std::string, std::string>& all() const { return values_; }

 private:
  std::map<std::string, std::string> values_;
  std::string cache_dir_;
  std::string host_executable_;
  void* status_host_ = nullptr;
  void (*set_status_)(void*, ocifs_str) = nullptr;
};

// The call's way back to the host: logging.
class Context {
 public:
  explicit Context(const ocifs_call* call) : call_(call) {}
  void Log(int32_t level, std::string_view message) const {
    if (call_ && call_->log) call_->log(call_->host, level, Str(message));
  }
  void Info(std::string_view message) const { Log(OCIFS_LOG_INFO, message); }
  void Warning(std::string_view message) const { Log(OCIFS_LOG_WARNING, message); }

 private:
  const ocifs_call* call_;
};

namespace internal {
inline void Check(ocifs_result r, std::string_view what) {
  if (r != OCIFS_OK) throw Error("the host refused " + std::string(what), r);
}
inline std::vector<ocifs_str> Strs(std::span<const std::string> words) {
  std::vector<ocifs_str> out;
  for (const auto& w : words) out.push_back(Str(w));
  return out;
}
}  // namespace internal

// The facts object's top-level members as raw JSON text, found without parsing them. A general
// JSON parser spends most of a plan on the file lists of a large project (100,000 names); with
// this view a plugin parses only the members it wants (`json::parse(*view.Get("pyproject"))`)
// and walks a file list with ForEachString, which copies nothing unless a name has escapes.
// Throws Error(OCIFS_ERR_INVALID_ARGUMENT) for text that is not a JSON object; the values are
// checked only as far as finding their end needs (a parser of the raw text checks the rest).
class FactsView {
 public:
  explicit FactsView(std::string_view json) : text_(json) {
    size_t i = SkipSpace(0);
    if (i >= text_.size() || text_[i] != '{') Fail("not a JSON object");
    i = SkipSpace(i + 1);
    if (i < text_.size() && text_[i] == '}') return;
    while (true) {
      if (i >= text_.size() || text_[i] != '"') Fail("a member name is missing");
      const size_t key_end = SkipString(i);
      std::string key = Unescape(text_.substr(i + 1, key_end - i - 2));
      i = SkipSpace(key_end);
      if (i >= text_.size() || text_[i] != ':') Fail("':' is missing after \"" + key + "\"");
      const size_t value = SkipSpace(i + 1);
      const size_t value_end = SkipValue(value);
      members_.emplace_back(std::move(key), text_.substr(value, value_end - value));
      i = SkipSpace(value_end);
      if (i < text_.size() && text_[i] == ',') {
        i = SkipSpace(i + 1);
        continue;
      }
      if (i < text_.size() && text_[i] == '}') return;
      Fail("',' or '}' is missing");
    }
  }

  // The raw text of member `key` ("[...]", "\"3.12\"", "{...}", "null"); nullopt when absent.
  std::optional<std::string_view> Get(std::string_view key) const {
    for (const auto& [k, v] : members_) {
      if (k == key) return v;
    }
    return std::nullopt;
  }

  // Calls fn(std::string_view) with each string of `array`, the raw text of a JSON array of
  // strings (as Get returns it), unescaped. Throws Error for anything else.
  template <typename F>
  static void ForEachString(std::string_view array, F&& fn) {
    FactsView scan(array, 0);
    size_t i = scan.SkipSpace(0);
    if (i >= array.size() || array[i] != '[') scan.Fail("not an array of strings");
    i = scan.SkipSpace(i + 1);
    if (i < array.size() && array[i] == ']') return;
    while (true) {
      if (i >= array.size() || array[i] != '"') scan.Fail("not an array of strings");
      const size_t end = scan.SkipString(i);
      std::string_view raw = array.substr(i + 1, end - i - 2);
      if (raw.find('\\') == std::string_view::npos) {
        fn(raw);
      } else {
        const std::string unescaped = Unescape(raw);
        fn(std::string_view(unescaped));
      }
      i = scan.SkipSpace(end);
      if (i < array.size() && array[i] == ',') {
        i = scan.SkipSpace(i + 1);
        continue;
      }
      if (i < array.size() && array[i] == ']') return;
      scan.Fail("',' or ']' is missing");
    }
  }

 private:
  FactsView(std::string_view text, int) : text_(text) {}

  [[noreturn]] void Fail(const std::string& what) const {
    throw Error("facts: " + what, OCIFS_ERR_INVALID_ARGUMENT);
  }
  size_t SkipSpace(size_t i) const {
    while (i < text_.size() &&
           (text_[i] == ' ' || text_[i] == '\t' || text_[i] == '\n' || text_[i] == '\r'))
      ++i;
    return i;
  }
  // From the opening quote at `i` to just past the closing one.
  size_t SkipString(size_t i) const {
    for (++i; i < text_.size(); ++i) {
      if (text_[i] == '\\') {
        ++i;
      } else if (text_[i] == '"') {
        return i + 1;
      }
    }
    Fail("a string does not end");
  }
  // From a value's first character to just past its end.
  size_t SkipValue(size_t i) const {
    if (i >= text_.size()) Fail("a value is missing");
    if (text_[i] == '"') return SkipString(i);
    if (text_[i] == '{' || text_[i] == '[') {
      size_t depth = 0;
      while (i < text_.size()) {
        const char c = text_[i];
        if (c == '"') {
          i = SkipString(i);
          continue;
        }
        if (c == '{' || c == '[') ++depth;
        if ((c == '}' || c == ']') && --depth == 0) return i + 1;
        ++i;
      }
      Fail("an object or array does not end");
    }
    const size_t start = i;
    while (i < text_.size() && text_[i] != ',' && text_[i] != '}' && text_[i] != ']' &&
           text_[i] != ' ' && text_[i] != '\t' && text_[i] != '\n' && text_[i] != '\r')
      ++i;
    if (i == start) Fail("a value is missing");
    return i;
  }
  // JSON string escapes, \uXXXX (with surrogate pairs) as UTF-8.
  static std::string Unescape(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    auto hex4 = [&](size_t at) -> uint32_t {
      uint32_t v = 0;
      for (size_t k = at; k < at + 4 && k < s.size(); ++k) {
        const char c = s[k];
        v = v * 16 + static_cast<uint32_t>(c >= 'a'   ? c - 'a' + 10
                                           : c >= 'A' ? c - 'A' + 10
                                                      : c - '0');
      }
      return v;
    };
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] != '\\' || i + 1 >= s.size()) {
        out += s[i];
        continue;
      }
      const char e = s[++i];
      switch (e) {
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          uint32_t cp = hex4(i + 1);
          i += 4;
          // A high surrogate and the low one after it are one code point.
          const uint32_t low =
              i + 6 < s.size() && s[i + 1] == '\\' && s[i + 2] == 'u' ? hex4(i + 3) : 0;
          if (cp >= 0xD800 && cp < 0xDC00 && low >= 0xDC00 && low < 0xE000) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
            i += 6;
          }
          if (cp < 0x80) {
            out += static_cast<char>(cp);
          } else if (cp < 0x800) {
            out += static_cast<char>(0xC0 | (cp >> 6));
            out += static_cast<char>(0x80 | (cp & 0x3F));
          } else if (cp < 0x10000) {
            out += static_cast<char>(0xE0 | (cp >> 12));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (cp & 0x3F));
          } else {
            out += static_cast<char>(0xF0 | (cp >> 18));
            out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (cp & 0x3F));
          }
          break;
        }
        default:
          out += e;  // '"', '\\', '/'
      }
    }
    return out;
  }

  std::string_view text_;
  std::vector<std::pair<std::string, std::string_view>> members_;
};

// What detect and layer see of the project.
class Project {
 public:
  explicit Project(const ocifs_project_input* in) : in_(in) {}
  // The facts JSON object (see plugin.h and docs/plugins.md).
  std::string_view facts_json() const { return View(in_->facts_json); }
  // A file of the application (OCIFS_LAYER_APPLICATION) or dependencies layer; nullopt when it is
  // not there. At most `max_bytes` are read.
  std::optional<std::string> ReadFile(std::string_view path,
                                      int32_t layer = OCIFS_LAYER_APPLICATION,
                                      uint64_t max_bytes = 16 << 20) const {
    std::string content;
    auto append = [](void* ctx, ocifs_str chunk) {
      static_cast<std::string*>(ctx)->append(View(chunk));
    };
    ocifs_result r = in_->read_file(in_->host, layer, Str(path), max_bytes, &content, append);
    if (r == OCIFS_ERR_NOT_FOUND) return std::nullopt;
    internal::Check(r, "to read `" + std::string(path) + "`");
    return content;
  }
  // Reads up to buf.size() bytes at `offset` of a base layer blob (a digest of the facts'
  // base.layers); returns how many (fewer only at the end).
  size_t ReadBaseBlob(std::string_view digest, uint64_t offset, std::span<std::byte> buf) const {
    size_t n = 0;
    internal::Check(in_->read_base_blob(in_->host, Str(digest), offset, buf.data(), buf.size(), &n),
                    "to read base blob " + std::string(digest));
    return n;
  }

 private:
  const ocifs_project_input* in_;
};

struct Healthcheck {
  std::vector<std::string> test;  // exec words
  int64_t interval_ns = 0, timeout_ns = 0, start_period_ns = 0;
  int32_t retries = 0;
};

// Where Detect writes its contributions. Each call throws Error when the host refuses the value.
class Config {
 public:
  explicit Config(const ocifs_config_sink* sink) : s_(sink) {}
  void SetEntrypoint(const std::vector<std::string>& argv) {
    auto v = internal::Strs(argv);
    internal::Check(s_->set_entrypoint(s_->host, v.data(), v.size()), "the entrypoint");
  }
  void SetCmd(const std::vector<std::string>& argv) {
    auto v = internal::Strs(argv);
    internal::Check(s_->set_cmd(s_->host, v.data(), v.size()), "the cmd");
  }
  void SetEnv(std::string_view key, std::string_view value) {
    internal::Check(s_->set_env(s_->host, Str(key), Str(value)), "env " + std::string(key));
  }
  void SetLabel(std::string_view key, std::string_view value) {
    internal::Check(s_->set_label(s_->host, Str(key), Str(value)), "label " + std::string(key));
  }
  void Expose(std::string_view port) {
    internal::Check(s_->expose(s_->host, Str(port)), "port " + std::string(port));
  }
  void SetUser(std::string_view user) {
    internal::Check(s_->set_user(s_->host, Str(user)), "user " + std::string(user));
  }
  void SetHealthcheck(const Healthcheck& h) {
    auto test = internal::Strs(h.test);
    ocifs_healthcheck c{};
    c.struct_size = sizeof c;
    c.test_count = static_cast<uint32_t>(test.size());
    c.test = test.data();
    c.interval_ns = h.interval_ns;
    c.timeout_ns = h.timeout_ns;
    c.start_period_ns = h.start_period_ns;
    c.retries = h.retries;
    internal::Check(s_->set_healthcheck(s_->host, &c), "the health check");
  }
  void Exclude(std::string_view pattern) {
    internal::Check(s_->exclude(s_->host, Str(pattern)), "exclude " + std::string(pattern));
  }

 private:
  const ocifs_config_sink* s_;
};

// Where WriteLayer writes its files.
class LayerWriter {
 public:
  explicit LayerWriter(const ocifs_layer_sink* sink) : s_(sink) {}
  void AddFile(std::string_view path, std::string_view content, uint32_t mode = 0644) {
    internal::Check(s_->add_file(s_->host, Str(path), mode, Str(content)),
                    "file " + std::string(path));
  }
  void AddDirectory(std::string_view path, uint32_t mode = 0755) {
    internal::Check(s_->add_directory(s_->host, Str(path), mode), "directory " + std::string(path));
  }
  void AddSymlink(std::string_view path, std::string_view target) {
    internal::Check(s_->add_symlink(s_->host, Str(path), Str(target)),
                    "symlink " + std::string(path));
  }

 private:
  const ocifs_layer_sink* s_;
};

// Where WriteArtifacts attaches documents (see plugin.h, ocifs_artifact_sink).
class Artifacts {
 public:
  explicit Artifacts(const ocifs_artifact_sink* sink) : s_(sink) {}
  void Add(std::string_view ref_suffix, std::string_view artifact_type, std::string_view media_type,
           std::string_view content) {
    internal::Check(
        s_->add(s_->host, Str(ref_suffix), Str(artifact_type), Str(media_type), Str(content)),
        "artifact " + std::string(ref_suffix));
  }

 private:
  const ocifs_artifact_sink* s_;
};

// A generation, as OnGeneration sees it.
class Generation {
 public:
  explicit Generation(const ocifs_generation_input* in) : in_(in) {}
  uint64_t number() const { return in_->number; }
  std::string_view index_json() const { return View(in_->index_json); }
  std::span<const ocifs_tagged_manifest> tags() const { return {in_->tags, in_->tag_count}; }
  std::span<const ocifs_blob_info> blobs() const { return {in_->blobs, in_->blob_count}; }
  // Since ABI 0.3 (empty from an older host): see ocifs_generation_input.
  std::string_view mountpoint() const {
    return OCIFS_HAS_FIELD(in_, ocifs_generation_input, mountpoint) ? View(in_->mountpoint) : "";
  }
  std::string_view project_dir() const {
    return OCIFS_HAS_FIELD(in_, ocifs_generation_input, project_dir) ? View(in_->project_dir) : "";
  }
  std::string_view project_version() const {
    return OCIFS_HAS_FIELD(in_, ocifs_generation_input, project_version)
               ? View(in_->project_version)
               : "";
  }
  // Reads up to buf.size() bytes at `offset`; returns how many (fewer only at the end).
  size_t ReadBlob(std::string_view digest, uint64_t offset, std::span<std::byte> buf) const {
    size_t n = 0;
    internal::Check(in_->read_blob(in_->host, Str(digest), offset, buf.data(), buf.size(), &n),
                    "to read blob " + std::string(digest));
    return n;
  }

 private:
  const ocifs_generation_input* in_;
};

namespace internal {

template <typename F>
ocifs_result Guard(const ocifs_call* call, F&& f) noexcept {
  auto fail = [call](ocifs_result code, std::string_view message) {
    if (call && call->set_error) call->set_error(call->host, Str(message));
    return code;
  };
  try {
    f();
    return OCIFS_OK;
  } catch (const Error& e) {
    return fail(e.code(), e.what());
  } catch (const std::exception& e) {
    return fail(OCIFS_ERR_FAILED, e.what());
  } catch (...) {
    return fail(OCIFS_ERR_INTERNAL, "an exception that is not a std::exception");
  }
}

template <typename T>
concept HasDetect = requires(T& t, Context& c, const Project& p, Config& o) {
  t.Detect(c, p, o);
};
template <typename T>
concept HasLayer = requires(T& t, Context& c, const Project& p, LayerWriter& w) {
  t.WriteLayer(c, p, w);
  { T::kLayerName } -> std::convertible_to<const char*>;
};
template <typename T>
concept HasArtifacts = requires(T& t, Context& c, const Project& p, Artifacts& a) {
  t.WriteArtifacts(c, p, a);
};
template <typename T>
concept HasGeneration = requires(T& t, Context& c, const Generation& g) {
  t.OnGeneration(c, g);
};

// The C entry points of plugin class T.
template <typename T>
struct Adapter {
  static ocifs_result Init(const ocifs_call* call, const ocifs_init_input* in, void** instance) {
    *instance = nullptr;
    return Guard(call, [&] {
      if constexpr (std::is_constructible_v<T, const Settings&>) {
        *instance = new T(Settings(*in));
      } else {
        Settings settings(*in);
        settings.RequireKnown({});
        *instance = new T();
      }
    });
  }
  static void Destroy(void* instance) { delete static_cast<T*>(instance); }

  static ocifs_result Detect(void* instance, const ocifs_call* call, const ocifs_project_input* in,
                             const ocifs_config_sink* out) {
    return Guard(call, [&] {
      Context ctx(call);
      Project project(in);
      Config config(out);
      static_cast<T*>(instance)->Detect(ctx, project, config);
    });
  }
  static ocifs_result WriteLayer(void* instance, const ocifs_call* call,
                                 const ocifs_project_input* in, const ocifs_layer_sink* out) {
    return Guard(call, [&] {
      Context ctx(call);
      Project project(in);
      LayerWriter writer(out);
      static_cast<T*>(instance)->WriteLayer(ctx, project, writer);
    });
  }
  static ocifs_result WriteArtifacts(void* instance, const ocifs_call* call,
                                     const ocifs_project_input* in,
                                     const ocifs_artifact_sink* out) {
    return Guard(call, [&] {
      Context ctx(call);
      Project project(in);
      Artifacts artifacts(out);
      static_cast<T*>(instance)->WriteArtifacts(ctx, project, artifacts);
    });
  }
  static ocifs_result OnGeneration(void* instance, const ocifs_call* call,
                                   const ocifs_generation_input* in) {
    return Guard(call, [&] {
      Context ctx(call);
      Generation gen(in);
      static_cast<T*>(instance)->OnGeneration(ctx, gen);
    });
  }

  // Each capability is built only when T has it, so T needs only the members it uses.
  static const ocifs_detect_capability* DetectCapability() {
    if constexpr (HasDetect<T>) {
      static const ocifs_detect_capability c{sizeof c, 0, &Detect};
      return &c;
    } else {
      return nullptr;
    }
  }
  static const ocifs_layer_capability* LayerCapability() {
    if constexpr (HasLayer<T>) {
      static const ocifs_layer_capability c{sizeof c, 0, T::kLayerName, &WriteLayer};
      return &c;
    } else {
      return nullptr;
    }
  }
  static const ocifs_artifact_capability* ArtifactCapability() {
    if constexpr (HasArtifacts<T>) {
      static const ocifs_artifact_capability c{sizeof c, 0, &WriteArtifacts};
      return &c;
    } else {
      return nullptr;
    }
  }
  static const ocifs_generation_capability* GenerationCapability() {
    if constexpr (HasGeneration<T>) {
      static const ocifs_generation_capability c{sizeof c, 0, &OnGeneration};
      return &c;
    } else {
      return nullptr;
    }
  }

  static const ocifs_plugin_descriptor* Descriptor() {
    static const ocifs_plugin_descriptor d{
        sizeof(ocifs_plugin_descriptor),
        OCIFS_PLUGIN_ABI_MAJOR,
        OCIFS_PLUGIN_ABI_MINOR,
        T::kName,
        T::kVersion,
        T::kDescription,
        &Init,
        &Destroy,
        DetectCapability(),
        LayerCapability(),
        GenerationCapability(),
        ArtifactCapability(),
    };
    return &d;
  }
};

}  // namespace internal
}  // namespace ocifs::sdk

// Defines the plugin's entry point for class `cls` (once per shared object, at global scope).
#define OCIFS_PLUGIN(cls)                                                                  \
  extern "C" OCIFS_PLUGIN_EXPORT const ocifs_plugin_descriptor* ocifs_plugin_entry(void) { \
    return ::ocifs::sdk::internal::Adapter<cls>::Descriptor();                             \
  }
