#include "core/oci/generation.h"

#include <algorithm>
#include <filesystem>
#include <span>
#include <vector>

#include <fmt/format.h>

#include "core/support/atomic_file.h"

namespace ocifs {

namespace {
constexpr char kRefName[] = "org.opencontainers.image.ref.name";
constexpr char kVariant[] = "io.ocifs.variant";
constexpr char kImageName[] = "io.containerd.image.name";

// The string annotation `key` of a descriptor's JSON; empty when absent or not a string.
std::string AnnotationOf(const nlohmann::json& d, const char* key) {
  if (!d.contains("annotations") || !d["annotations"].is_object()) return "";
  const nlohmann::json& a = d["annotations"];
  return a.contains(key) && a[key].is_string() ? a[key].get<std::string>() : "";
}
}  // namespace

nlohmann::json IndexEntry::ToJson() const {
  nlohmann::json d = descriptor.ToJson();
  if (platform) d["platform"] = PlatformJson(*platform);
  if (!artifact_type.empty()) d["artifactType"] = artifact_type;
  if (!ref_name.empty()) d["annotations"][kRefName] = ref_name;
  if (!variant.empty()) d["annotations"][kVariant] = variant;
  if (!image_name.empty()) d["annotations"][kImageName] = image_name;
  return d;
}

Result<std::vector<IndexEntry>> ParseIndex(const std::string& where, std::string_view text) {
  const nlohmann::json index = nlohmann::json::parse(text, nullptr, false);
  if (index.is_discarded() || !index.is_object())
    return Corrupt(where + ": index.json is not a JSON object");
  if (!index.contains("manifests") || !index["manifests"].is_array())
    return Corrupt(where + ": index.json has no `manifests` array");
  std::vector<IndexEntry> out;
  const auto& ms = index["manifests"];
  for (size_t i = 0; i < ms.size(); ++i) {
    IndexEntry e;
    OCIFS_ASSIGN_OR_RETURN(
        e.descriptor, ParseDescriptor(where, ms[i], fmt::format("index.json manifests[{}]", i)));
    const nlohmann::json& m = ms[i];
    e.ref_name = AnnotationOf(m, kRefName);
    e.variant = AnnotationOf(m, kVariant);
    e.image_name = AnnotationOf(m, kImageName);
    if (m.contains("artifactType") && m["artifactType"].is_string())
      e.artifact_type = m["artifactType"].get<std::string>();
    if (m.contains("platform")) e.platform = PlatformFromJson(m["platform"]);
    out.push_back(std::move(e));
  }
  return out;
}

std::string IndexJson(const std::vector<IndexEntry>& entries) {
  nlohmann::json manifests = nlohmann::json::array();
  for (const IndexEntry& e : entries) manifests.push_back(e.ToJson());
  return CanonicalJson(
      {{"schemaVersion", 2}, {"mediaType", kMediaTypeOciIndex}, {"manifests", manifests}});
}

void Generation::Contents::Add(const Descriptor& d, std::shared_ptr<const Blob> blob) {
  descriptors[d.digest.hex()] = d;
  blobs[d.digest.hex()] = std::move(blob);
}

Generation::Generation(Contents contents)
    : c_(std::move(contents)), index_json_(IndexJson(c_.index)) {}

const std::string& Generation::oci_layout() {
  static const std::string kLayout = R"({"imageLayoutVersion":"1.0.0"})";
  return kLayout;
}

const Blob* Generation::FindBlob(std::string_view hex) const {
  auto it = c_.blobs.find(std::string(hex));
  return it == c_.blobs.end() ? nullptr : it->second.get();
}

const Descriptor* Generation::FindDescriptor(std::string_view hex) const {
  auto it = c_.descriptors.find(std::string(hex));
  return it == c_.descriptors.end() ? nullptr : &it->second;
}

namespace {

// The blob's bytes at `path`, checked against `expect` (when given) as they are written.
Status WriteBlobAtomically(const std::string& path, const Blob& blob, const Digest* expect) {
  return WriteFileAtomically(path, [&](int fd) {
    Sha256 h;
    std::vector<std::byte> buf(1 << 20);
    for (uint64_t off = 0; off < blob.size();) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(buf.size(), blob.size() - off));
      OCIFS_RETURN_IF_ERROR(blob.ReadAt(off, std::span(buf.data(), n)));
      h.Update(std::span<const std::byte>(buf.data(), n));
      OCIFS_RETURN_IF_ERROR(WriteAll(fd, std::span<const std::byte>(buf.data(), n), path));
      off += n;
    }
    if (expect != nullptr && h.Finish() != *expect) {
      return Internal(
          fmt::format("blob {} did not hash to its name while it was written", expect->str()));
    }
    return Status::Ok();
  });
}

}  // namespace

Status WriteLayout(const Generation& gen, const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::exists(dir, ec)) {
    if (!fs::is_directory(dir, ec))
      return InvalidArgument(fmt::format("output `{}` exists and is not a directory", dir));
    if (!fs::is_empty(dir, ec))
      return Status(Code::kAlreadyExists, fmt::format("output directory `{}` is not empty", dir));
  } else if (!fs::create_directory(dir, ec)) {
    return Status(Code::kIo, fmt::format("output directory `{}`: {}", dir, ec.message()));
  }
  fs::create_directories(fs::path(dir) / "blobs" / "sha256", ec);
  if (ec) return Status(Code::kIo, fmt::format("`{}/blobs/sha256`: {}", dir, ec.message()));
  OCIFS_RETURN_IF_ERROR(
      WriteBlobAtomically(dir + "/oci-layout", MemoryBlob(Generation::oci_layout()), nullptr));
  for (const auto& [hex, blob] : gen.blobs()) {
    Digest d = Digest::FromHex(hex);
    Status s = WriteBlobAtomically(fmt::format("{}/blobs/sha256/{}", dir, hex), *blob, &d);
    if (!s.ok()) return s.WithContext(fmt::format("blob {}", d.str()));
  }
  return WriteBlobAtomically(dir + "/index.json", MemoryBlob(gen.index_json()), nullptr);
}

}  // namespace ocifs
