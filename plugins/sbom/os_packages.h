// The operating system packages of a base image, read from its layers as stored: each layer is
// decompressed (gzip, zstd or none) and its tar scanned as a stream for the few files that tell
// them: dpkg's `var/lib/dpkg/status` (and the `status.d/` of distroless images), apk's
// `lib/apk/db/installed`, and `os-release`. The layers are then stacked bottom to top with their
// whiteouts (image-spec layer.md), and the databases parsed.
//
// Nothing here holds a whole layer: memory is the decompressor's window, one tar header and the
// content of the files kept (each at most kMaxDatabaseBytes).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ocifs::sbom {

inline constexpr uint64_t kMaxDatabaseBytes = 64 << 20;

// The paths a layer scan keeps, relative to the root ("var/lib/dpkg/status").
bool IsPackageDatabase(std::string_view path);

// What one layer holds of those paths.
struct LayerFiles {
  std::map<std::string, std::string> files;     // regular files: path -> content
  std::map<std::string, std::string> symlinks;  // path -> target
  std::vector<std::string> whiteouts;           // paths this layer removes from those below
  std::vector<std::string> opaque_dirs;         // directories whose lower contents it hides
};

// Reads a tar stream fed in pieces of any size. Errors (a bad header, a file larger than
// kMaxDatabaseBytes among those kept) are sticky: error() says what, later input is ignored.
class TarScanner {
 public:
  void Feed(std::string_view bytes);
  // Call after the last piece; false (with error()) when the stream ended inside an entry.
  bool Finish();
  const std::string& error() const { return error_; }
  LayerFiles& result() { return out_; }

 private:
  void Header();
  void EndOfEntry();

  LayerFiles out_;
  std::string error_;
  std::string header_;           // a 512-byte header being filled
  uint64_t remaining_ = 0;       // data bytes of the current entry still to come
  uint64_t padding_ = 0;         // bytes to skip after them
  std::string* keep_ = nullptr;  // where the current entry's data goes, when it is kept
  std::string* meta_ = nullptr;  // or: a GNU long name or pax header being read
  char meta_type_ = 0;
  std::string long_name_, long_link_, meta_text_;
  std::string pax_path_, pax_link_;
  bool ended_ = false;  // the zero blocks were seen
};

// Decompresses a layer blob of `media_type` into a TarScanner, piece by piece.
class LayerDecoder {
 public:
  // Throws std::runtime_error for a media type that is not a tar (plain, +gzip, +zstd).
  explicit LayerDecoder(std::string_view media_type);
  ~LayerDecoder();
  LayerDecoder(const LayerDecoder&) = delete;
  LayerDecoder& operator=(const LayerDecoder&) = delete;
  // Throws std::runtime_error on a corrupt stream.
  void Feed(std::string_view compressed, TarScanner& tar);
  // Throws when the compressed stream was cut short.
  void Finish(TarScanner& tar);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// LayerFiles as a file of the plugin's cache: self-checking (a SHA-256 of its own content), so
// that Decode gives nullopt for anything that is not exactly what Encode wrote.
std::string EncodeLayerFiles(const LayerFiles& files);
std::optional<LayerFiles> DecodeLayerFiles(std::string_view text);

// The files of a stack of layers, bottom first, after whiteouts.
LayerFiles StackLayers(const std::vector<const LayerFiles*>& layers);

struct OsRelease {
  std::string id;          // "debian", "alpine"
  std::string version_id;  // "12"
  std::string pretty_name;
};
OsRelease ParseOsRelease(std::string_view text);

struct OsPackage {
  std::string name, version, arch;
  std::string source;   // the source package, when it differs from the name
  std::string summary;  // the first line of the description
  std::string homepage;
  std::string license;               // apk's license field (an SPDX expression more often than not)
  std::vector<std::string> depends;  // names of packages depended on (first of alternatives)
};

// The installed packages of a dpkg status file (Status "install ok installed"), in file order.
std::vector<OsPackage> ParseDpkgStatus(std::string_view text);
// The packages of an apk `installed` database.
std::vector<OsPackage> ParseApkInstalled(std::string_view text);

struct OsInventory {
  OsRelease os;
  std::string database;             // "dpkg", "apk" or "" (neither found)
  std::vector<OsPackage> packages;  // sorted by name, then arch
};
OsInventory InventoryOf(const LayerFiles& root);

}  // namespace ocifs::sbom
