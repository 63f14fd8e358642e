#include "core/registry/push.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <thread>

#include <fmt/format.h>

namespace ocifs {

using json = nlohmann::json;

namespace {

constexpr char kBaseName[] = "org.opencontainers.image.base.name";

std::string Mib(uint64_t bytes) {
  return fmt::format("{:.1f} MiB", static_cast<double>(bytes) / (1 << 20));
}

Result<json> ParseObject(const std::string& text, const std::string& where) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Corrupt(where + ": not a JSON object");
  return j;
}

bool IsUncompressedLayer(const std::string& media_type) {
  return media_type == kMediaTypeOciLayer ||
         media_type == "application/vnd.docker.image.rootfs.diff.tar";
}

bool Resumable(const Status& s) { return s.code() == Code::kIo; }
bool Restartable(const Status& s) { return s.code() == Code::kIo || s.code() == Code::kNotFound; }

}  // namespace

std::string_view OutcomeName(PushedBlob::Outcome outcome) {
  switch (outcome) {
    case PushedBlob::Outcome::kPending:
      return "pending";
    case PushedBlob::Outcome::kPresent:
      return "present";
    case PushedBlob::Outcome::kMounted:
      return "mounted";
    case PushedBlob::Outcome::kUploaded:
      return "uploaded";
  }
  return "pending";
}

uint64_t PushReport::BytesSent() const {
  uint64_t n = 0;
  for (const auto& b : blobs) n += b.bytes_sent;
  return n;
}

json PushReport::ToJson() const {
  json j = {{"repository", repository}, {"tags", tags}, {"manifest", root.ToJson()}};
  j["blobs"] = json::array();
  for (const auto& b : blobs) {
    json bj = {{"role", b.role},
               {"digest", b.pushed.digest.str()},
               {"size", b.pushed.size},
               {"outcome", OutcomeName(b.outcome)},
               {"bytes_sent", b.bytes_sent}};
    if (b.source.digest != b.pushed.digest) bj["uncompressed_digest"] = b.source.digest.str();
    if (b.restarts) bj["restarts"] = b.restarts;
    if (b.resumes) bj["resumes"] = b.resumes;
    j["blobs"].push_back(bj);
  }
  j["manifests"] = json::array();
  for (const auto& m : manifests) j["manifests"].push_back(m.ToJson());
  j["referrers"] = json::array();
  for (const auto& r : referrers) {
    json rj = {{"ref_name", r.ref_name},
               {"artifactType", r.artifact_type},
               {"manifest", r.manifest.digest.str()},
               {"subject", r.subject.str()}};
    if (!r.fallback_tag.empty()) rj["fallback_tag"] = r.fallback_tag;
    j["referrers"].push_back(rj);
  }
  if (!mounted_from.empty()) j["mounted_from"] = mounted_from;
  j["image_digest"] = root.digest.str();  // the same as manifest.digest, for line-based readers
  j["total_bytes_sent"] = BytesSent();
  return j;
}

std::string PushReport::Summary() const {
  std::map<PushedBlob::Outcome, std::pair<int, uint64_t>> by;
  for (const auto& b : blobs) {
    by[b.outcome].first += 1;
    by[b.outcome].second += b.pushed.size;
  }
  auto count = [&](PushedBlob::Outcome o) { return by[o].first; };
  return fmt::format(
      "{} blob{} already there ({}), {} mounted ({}), {} uploaded ({} sent); {} manifest{}, {} "
      "referrer{}",
      count(PushedBlob::Outcome::kPresent), count(PushedBlob::Outcome::kPresent) == 1 ? "" : "s",
      Mib(by[PushedBlob::Outcome::kPresent].second), count(PushedBlob::Outcome::kMounted),
      Mib(by[PushedBlob::Outcome::kMounted].second), count(PushedBlob::Outcome::kUploaded),
      Mib(BytesSent()), manifests.size(), manifests.size() == 1 ? "" : "s", referrers.size(),
      referrers.size() == 1 ? "" : "s");
}

namespace {

// One push: the blob jobs, then the manifests.
class Pusher {
 public:
  Pusher(RegistryClient& client, const LayoutSource& source, const ImageReference& target,
         const PushOptions& options)
      : client_(client), source_(source), target_(target), o_(options) {}

  Result<PushReport> Run();

 private:
  struct Job {
    size_t blob;             // index into report_.blobs
    bool compress = false;   // the source is an uncompressed layer
    std::string mount_from;  // a repository to mount it from, or empty
  };
  // An image manifest of the source, and where its rewritten form goes.
  struct Image {
    Descriptor source;
    json manifest;
    std::vector<size_t> layer_blobs;  // indexes into report_.blobs, in layer order
    size_t config_blob = 0;
    Descriptor pushed;
  };

  Result<size_t> AddBlob(const std::string& role, const Descriptor& d, bool compress,
                         const std::string& mount_from);
  Status AddImage(const Descriptor& d, const std::string& prefix);
  Status RunJobs();
  Status DoJob(const Job& job);
  Result<std::unique_ptr<ByteStream>> OpenStream(const PushedBlob& b, bool compress);
  // The compressed digests of layers, kept by uncompressed digest and compression.
  Digest CompressionKey(const Descriptor& source) const;
  std::optional<Descriptor> CachedCompression(const Descriptor& source) const;
  void RememberCompression(const Descriptor& source, const Descriptor& pushed) const;
  Status Upload(PushedBlob& b, bool compress, std::optional<UploadSession> session);
  // One upload from the first byte; starts a session when `session` has none. A layer whose
  // compressed digest is not known yet (b.pushed.size 0) gets it here.
  Status UploadOnce(PushedBlob& b, bool compress, std::optional<UploadSession>& session);
  // The completing PUT; an answer lost after the registry stored the blob is no failure.
  Status Finish(const PushedBlob& b, const UploadSession& session, std::span<const std::byte> last);
  void Progress(const PushedBlob& b, uint64_t bytes, bool done);
  Result<Descriptor> PutManifest(const json& manifest, const std::string& media_type,
                                 const std::vector<std::string>& references,
                                 bool* subject_indexed = nullptr);
  Status PushReferrer(const json& entry);
  Status UpdateFallbackTag(PushedReferrer& r);

  RegistryClient& client_;
  const LayoutSource& source_;
  const ImageReference& target_;
  const PushOptions& o_;
  PushReport report_;
  std::vector<Job> jobs_;
  std::map<std::string, size_t> blob_by_digest_;  // source digest -> report_.blobs index
  std::vector<Image> images_;
  std::map<std::string, Descriptor> pushed_manifests_;  // source digest -> pushed
  std::string base_repository_;  // of this registry, when the base lives there
  std::mutex progress_mu_;
  std::mutex mounted_mu_;  // guards report_.mounted_from while jobs run
  std::atomic<bool> failed_{false};
};

Result<PushReport> Pusher::Run() {
  if (o_.tags.empty()) return InvalidArgument("push: no tag to push the image under");
  report_.repository = fmt::format("{}/{}", target_.domain, target_.repository);
  report_.tags = o_.tags;
  OCIFS_ASSIGN_OR_RETURN(const std::vector<IndexEntry> index, source_.Index());

  // The image: the entry named source_tag, or the first that is not an artifact.
  const IndexEntry* image_entry = nullptr;
  for (const IndexEntry& e : index) {
    if (e.is_artifact()) continue;
    if (o_.source_tag.empty() ? !e.ref_name.empty() : e.ref_name == o_.source_tag) {
      image_entry = &e;
      break;
    }
  }
  if (image_entry == nullptr) {
    return NotFound(o_.source_tag.empty()
                        ? std::string("index.json names no image")
                        : fmt::format("index.json has no image tagged `{}`", o_.source_tag));
  }
  const std::string source_tag = image_entry->ref_name;
  const Descriptor top = image_entry->descriptor;

  std::optional<json> top_index;
  if (top.media_type == kMediaTypeOciIndex || top.media_type == kMediaTypeDockerList) {
    OCIFS_ASSIGN_OR_RETURN(std::string text, ReadManifestBlob(source_, top));
    OCIFS_ASSIGN_OR_RETURN(top_index, ParseObject(text, "image index " + top.digest.str()));
    if (!top_index->contains("manifests") || !(*top_index)["manifests"].is_array())
      return Corrupt(fmt::format("image index {}: no `manifests` array", top.digest.str()));
    for (const auto& m : (*top_index)["manifests"]) {
      OCIFS_ASSIGN_OR_RETURN(Descriptor d,
                             ParseDescriptor("image index " + top.digest.str(), m, "a manifest"));
      json platform = m.value("platform", json::object());
      std::string prefix = platform.value("os", "?") + "/" + platform.value("architecture", "?");
      if (platform.contains("variant")) prefix += "/" + platform.value("variant", "");
      OCIFS_RETURN_IF_ERROR(AddImage(d, prefix + " "));
    }
  } else {
    OCIFS_RETURN_IF_ERROR(AddImage(top, ""));
  }

  // The artifacts attached to this tag: their blobs join the jobs.
  std::vector<std::pair<const IndexEntry*, json>> artifact_manifests;
  for (const IndexEntry& a : index) {
    if (!a.is_artifact() || !a.ref_name.starts_with(source_tag + ".")) continue;
    OCIFS_ASSIGN_OR_RETURN(std::string text, ReadManifestBlob(source_, a.descriptor));
    OCIFS_ASSIGN_OR_RETURN(json m,
                           ParseObject(text, "artifact manifest " + a.descriptor.digest.str()));
    const std::string& name = a.ref_name;
    OCIFS_ASSIGN_OR_RETURN(Descriptor config,
                           ParseDescriptor(name, m.value("config", json()), "config"));
    OCIFS_RETURN_IF_ERROR(AddBlob(name + " config", config, false, "").status());
    for (const auto& l : m.value("layers", json::array())) {
      OCIFS_ASSIGN_OR_RETURN(Descriptor ld, ParseDescriptor(name, l, "a layer"));
      OCIFS_RETURN_IF_ERROR(AddBlob(name + " document", ld, false, "").status());
    }
    artifact_manifests.emplace_back(&a, std::move(m));
  }

  OCIFS_RETURN_IF_ERROR(RunJobs());

  // Manifests, children first.
  for (Image& img : images_) {
    json& layers = img.manifest["layers"];
    for (size_t i = 0; i < img.layer_blobs.size(); ++i) {
      const PushedBlob& b = report_.blobs[img.layer_blobs[i]];
      layers[i]["mediaType"] = b.pushed.media_type;
      layers[i]["digest"] = b.pushed.digest.str();
      layers[i]["size"] = b.pushed.size;
    }
    const std::vector<std::string> refs =
        top_index ? std::vector<std::string>{} : o_.tags;  // by digest only when in an index
    OCIFS_ASSIGN_OR_RETURN(img.pushed, PutManifest(img.manifest, img.source.media_type, refs));
    pushed_manifests_[img.source.digest.str()] = img.pushed;
  }
  if (top_index) {
    for (auto& m : (*top_index)["manifests"]) {
      const Descriptor& pushed = pushed_manifests_.at(m["digest"].get<std::string>());
      m["digest"] = pushed.digest.str();
      m["size"] = pushed.size;
    }
    OCIFS_ASSIGN_OR_RETURN(report_.root, PutManifest(*top_index, top.media_type, o_.tags));
  } else {
    report_.root = images_.front().pushed;
  }

  for (auto& [entry, manifest] : artifact_manifests) {
    const std::string& name = entry->ref_name;
    if (!manifest.contains("subject")) continue;
    const std::string subject = manifest["subject"].value("digest", "");
    auto pushed = pushed_manifests_.find(subject);
    if (pushed == pushed_manifests_.end()) {
      return Corrupt(fmt::format("artifact `{}`: its subject {} is not a manifest of tag `{}`",
                                 name, subject, source_tag));
    }
    manifest["subject"]["digest"] = pushed->second.digest.str();
    manifest["subject"]["size"] = pushed->second.size;
    PushedReferrer r;
    r.ref_name = name;
    r.artifact_type = entry->artifact_type;
    r.subject = pushed->second.digest;
    bool indexed = false;
    OCIFS_ASSIGN_OR_RETURN(
        r.manifest,
        PutManifest(manifest, manifest.value("mediaType", kMediaTypeOciManifest), {}, &indexed));
    if (!indexed) OCIFS_RETURN_IF_ERROR(UpdateFallbackTag(r));
    report_.referrers.push_back(std::move(r));
  }
  return std::move(report_);
}

Status Pusher::AddImage(const Descriptor& d, const std::string& prefix) {
  Image img;
  img.source = d;
  OCIFS_ASSIGN_OR_RETURN(std::string text, ReadManifestBlob(source_, d));
  const std::string where = "image manifest " + d.digest.str();
  OCIFS_ASSIGN_OR_RETURN(img.manifest, ParseObject(text, where));
  if (!img.manifest.contains("layers") || !img.manifest["layers"].is_array())
    return Corrupt(where + ": no `layers` array");
  // A base that lives in another repository of this registry: its layers can be mounted.
  std::string mount_from;
  std::string base = img.manifest.value("annotations", json::object()).value(kBaseName, "");
  if (!base.empty()) {
    auto ref = ParseImageReference(base);
    if (ref.ok() && ref->domain == target_.domain && ref->repository != target_.repository)
      mount_from = ref->repository;
  }
  OCIFS_ASSIGN_OR_RETURN(Descriptor config,
                         ParseDescriptor(where, img.manifest.value("config", json()), "config"));
  OCIFS_ASSIGN_OR_RETURN(img.config_blob, AddBlob(prefix + "config", config, false, ""));
  const json& layers = img.manifest["layers"];
  for (size_t i = 0; i < layers.size(); ++i) {
    OCIFS_ASSIGN_OR_RETURN(Descriptor l,
                           ParseDescriptor(where, layers[i], fmt::format("layers[{}]", i)));
    const bool compress =
        IsUncompressedLayer(l.media_type) && o_.compression.algorithm != Compression::kNone;
    OCIFS_ASSIGN_OR_RETURN(
        size_t b, AddBlob(fmt::format("{}layer {}/{}", prefix, i + 1, layers.size()), l, compress,
                          compress ? "" : mount_from));
    img.layer_blobs.push_back(b);
  }
  images_.push_back(std::move(img));
  return Status::Ok();
}

Result<size_t> Pusher::AddBlob(const std::string& role, const Descriptor& d, bool compress,
                               const std::string& mount_from) {
  if (auto it = blob_by_digest_.find(d.digest.str()); it != blob_by_digest_.end())
    return it->second;
  PushedBlob b;
  b.role = role;
  b.source = d;
  b.pushed = d;
  report_.blobs.push_back(b);
  const size_t index = report_.blobs.size() - 1;
  blob_by_digest_[d.digest.str()] = index;
  jobs_.push_back(Job{index, compress, mount_from});
  return index;
}

Status Pusher::RunJobs() {
  std::atomic<size_t> next{0};
  std::mutex mu;
  Status first_error;
  auto worker = [&] {
    for (;;) {
      const size_t i = next++;
      if (i >= jobs_.size() || failed_) return;
      Status s = DoJob(jobs_[i]);
      if (!s.ok()) {
        std::lock_guard lock(mu);
        if (first_error.ok()) first_error = s.WithContext(report_.blobs[jobs_[i].blob].role);
        failed_ = true;
      }
    }
  };
  {
    std::vector<std::jthread> threads;
    const int n = std::clamp<int>(o_.jobs, 1, 16);
    for (int t = 1; t < n; ++t) threads.emplace_back(worker);
    worker();
  }
  return first_error;
}

Status Pusher::DoJob(const Job& job) {
  PushedBlob& b = report_.blobs[job.blob];
  if (o_.cancelled != nullptr && *o_.cancelled)
    return Status(Code::kFailedPrecondition, "push cancelled");
  if (job.compress) {
    b.pushed = Descriptor{o_.compression.MediaType(), b.source.digest, 0};
    if (auto cached = CachedCompression(b.source)) {
      b.pushed = *cached;
    } else {
      // Never compressed here before: compressed once, while it is uploaded. The digest is
      // known after the last byte, so the registry is asked about it (HEAD) before the upload
      // only when it fits one PUT; a large one goes up in chunks, then the cache keeps its
      // digest for every later push.
      b.compressed_now = true;
      OCIFS_RETURN_IF_ERROR(Upload(b, true, std::nullopt));
      if (b.outcome != PushedBlob::Outcome::kPresent) b.outcome = PushedBlob::Outcome::kUploaded;
      RememberCompression(b.source, b.pushed);
      Progress(b, b.pushed.size, true);
      return Status::Ok();
    }
  }
  OCIFS_ASSIGN_OR_RETURN(std::optional<uint64_t> there, client_.BlobSize(target_, b.pushed.digest));
  if (there && *there == b.pushed.size) {
    b.outcome = PushedBlob::Outcome::kPresent;
    Progress(b, b.pushed.size, true);
    return Status::Ok();
  }
  std::optional<UploadSession> session;
  if (!job.mount_from.empty()) {
    OCIFS_ASSIGN_OR_RETURN(
        session, client_.StartUpload(target_, std::pair{b.pushed.digest, job.mount_from}));
    if (!session) {
      b.outcome = PushedBlob::Outcome::kMounted;
      {
        std::lock_guard lock(mounted_mu_);
        report_.mounted_from = job.mount_from;
      }
      Progress(b, b.pushed.size, true);
      return Status::Ok();
    }
  }
  OCIFS_RETURN_IF_ERROR(Upload(b, job.compress, std::move(session)));
  b.outcome = PushedBlob::Outcome::kUploaded;
  Progress(b, b.pushed.size, true);
  return Status::Ok();
}

Result<std::unique_ptr<ByteStream>> Pusher::OpenStream(const PushedBlob& b, bool compress) {
  OCIFS_ASSIGN_OR_RETURN(auto blob, source_.Open(b.source));
  auto raw = ReadVerified(std::move(blob), b.source.digest);
  if (!compress) return raw;
  return Compress(std::move(raw), b.source.size, o_.compression);
}

Digest Pusher::CompressionKey(const Descriptor& source) const {
  return Digest::Of(fmt::format("ocifs compressed layer 1\n{}\n{}\n", o_.compression.CacheKey(),
                                source.digest.str()));
}

std::optional<Descriptor> Pusher::CachedCompression(const Descriptor& source) const {
  if (o_.cache == nullptr) return std::nullopt;
  std::vector<std::string> warnings;  // a corrupt entry is removed, and computed again
  auto hit = o_.cache->Lookup(CompressionKey(source), &warnings);
  if (!hit) return std::nullopt;
  return Descriptor{o_.compression.MediaType(), hit->digest, hit->size};
}

void Pusher::RememberCompression(const Descriptor& source, const Descriptor& pushed) const {
  // Not keeping it costs a compression next time, nothing more.
  if (o_.cache != nullptr)
    (void)o_.cache->Store(CompressionKey(source), {pushed.digest, pushed.size});
}

void Pusher::Progress(const PushedBlob& b, uint64_t bytes, bool done) {
  if (!o_.on_progress) return;
  std::lock_guard lock(progress_mu_);
  o_.on_progress(PushProgress{&b, bytes, done});
}

Status Pusher::Upload(PushedBlob& b, bool compress, std::optional<UploadSession> session) {
  Status last;
  for (int attempt = 0;; ++attempt) {
    if (attempt > 0) {
      if (attempt > o_.max_restarts) {
        return Status(last.code(), fmt::format("gave up after {} fresh starts of its upload: {}",
                                               o_.max_restarts, last.message()));
      }
      ++b.restarts;
      if (session) client_.CancelUpload(target_, *session);
      session.reset();
    }
    last = UploadOnce(b, compress, session);
    // No session: the registry refused to start one, which starting again will not change.
    if (last.ok() || !Restartable(last) || !session) return last;
  }
}

Status Pusher::UploadOnce(PushedBlob& b, bool compress, std::optional<UploadSession>& session) {
  OCIFS_ASSIGN_OR_RETURN(auto stream, OpenStream(b, compress));
  const bool known = !compress || b.pushed.size != 0;
  const uint64_t chunk_size = std::max<uint64_t>(o_.chunk_size, 1);
  const uint64_t one_put = std::min(o_.monolithic_max, chunk_size);
  std::vector<std::byte> buf(static_cast<size_t>(chunk_size));
  auto fill = [&](size_t want) -> Result<size_t> {
    size_t got = 0;
    while (got < want) {
      OCIFS_ASSIGN_OR_RETURN(size_t n, stream->Read(std::span(buf.data() + got, want - got)));
      if (n == 0) break;
      got += n;
    }
    return got;
  };
  auto start = [&]() -> Status {
    if (session) return Status::Ok();
    OCIFS_ASSIGN_OR_RETURN(session, client_.StartUpload(target_, std::nullopt));
    return Status::Ok();
  };
  auto mismatch = [&](const Digest& got) {
    return Corrupt(
        fmt::format("its bytes hash to {}, not {} (compression gave other bytes than "
                    "when its digest was computed?)",
                    got.str(), b.pushed.digest.str()));
  };

  // The first piece tells a small blob (one PUT) from a large one (chunks).
  OCIFS_ASSIGN_OR_RETURN(size_t first, fill(static_cast<size_t>(one_put)));
  if (first < one_put) {
    const auto bytes = std::span<const std::byte>(buf.data(), first);
    const Digest digest = Digest::Of(bytes);
    if (!known) {
      // Compressed for the first time: now its digest is known, and the registry can be asked.
      b.pushed.digest = digest;
      b.pushed.size = first;
      OCIFS_ASSIGN_OR_RETURN(std::optional<uint64_t> there, client_.BlobSize(target_, digest));
      if (there && *there == first) {
        b.outcome = PushedBlob::Outcome::kPresent;
        return Status::Ok();
      }
    } else if (digest != b.pushed.digest || first != b.pushed.size) {
      return mismatch(digest);
    }
    OCIFS_RETURN_IF_ERROR(start());
    b.bytes_sent += first;
    return Finish(b, *session, bytes);
  }

  // Chunks, streamed. A layer compressed for the first time learns its digest at the end (the
  // completing PUT names it), the way one pass over the bytes allows.
  OCIFS_RETURN_IF_ERROR(start());
  if (session->received != 0) return Internal("a fresh upload session that holds bytes already");
  Sha256 hash;
  uint64_t offset = 0;
  int backoff_ms = 100;
  for (size_t n = first;;) {
    if (n == 0) break;
    if (o_.cancelled != nullptr && *o_.cancelled) {
      client_.CancelUpload(target_, *session);
      session.reset();
      return Status(Code::kFailedPrecondition, "push cancelled");
    }
    hash.Update(std::span<const std::byte>(buf.data(), n));
    const uint64_t chunk_start = offset;
    size_t pos = 0;  // bytes of this chunk the registry holds
    while (pos < n) {
      session->received = chunk_start + pos;
      auto sent = client_.PatchUpload(target_, *session,
                                      std::span<const std::byte>(buf.data() + pos, n - pos));
      b.bytes_sent += n - pos;
      Status failure;
      if (sent.ok()) {
        *session = *sent;
        if (session->received == chunk_start + n) break;
        failure = Status(Code::kIo,
                         fmt::format("the registry holds {} bytes after a chunk that ends at {}",
                                     session->received, chunk_start + n));
      } else {
        failure = sent.status();
      }
      if (!Resumable(failure)) return failure;
      if (++b.resumes > o_.max_resumes) {
        return Status(failure.code(), fmt::format("gave up after {} resumed chunks: {}",
                                                  o_.max_resumes, failure.message()));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(backoff_ms));
      backoff_ms = std::min(backoff_ms * 2, 4000);
      // Where does the registry stand? Resume there if it is within this chunk.
      OCIFS_ASSIGN_OR_RETURN(UploadSession now, client_.UploadStatus(target_, *session));
      if (now.received < chunk_start || now.received > chunk_start + n) {
        return Status(
            Code::kIo,
            fmt::format("after `{}` the upload holds {} bytes, outside the chunk {}-{}",
                        failure.message(), now.received, chunk_start, chunk_start + n - 1));
      }
      *session = now;
      pos = static_cast<size_t>(now.received - chunk_start);
    }
    offset += n;
    Progress(b, offset, false);
    OCIFS_ASSIGN_OR_RETURN(n, fill(buf.size()));
  }
  const Digest digest = hash.Finish();
  if (!known) {
    b.pushed.digest = digest;
    b.pushed.size = offset;
  } else if (digest != b.pushed.digest || offset != b.pushed.size) {
    return mismatch(digest);
  }
  return Finish(b, *session, {});
}

Status Pusher::Finish(const PushedBlob& b, const UploadSession& session,
                      std::span<const std::byte> last) {
  Status done = client_.FinishUpload(target_, session, b.pushed.digest, last);
  if (!done.ok() && Restartable(done)) {
    // The PUT may have landed with its answer lost: then the blob is there.
    auto there = client_.BlobSize(target_, b.pushed.digest);
    if (there.ok() && *there && **there == b.pushed.size) return Status::Ok();
  }
  return done;
}

Result<Descriptor> Pusher::PutManifest(const json& manifest, const std::string& media_type,
                                       const std::vector<std::string>& references,
                                       bool* subject_indexed) {
  const std::string text = CanonicalJson(manifest);
  Descriptor d{media_type, Digest::Of(text), text.size()};
  OCIFS_ASSIGN_OR_RETURN(PushedManifest pushed,
                         client_.PutManifest(target_, d.digest.str(), media_type, text));
  if (subject_indexed != nullptr) *subject_indexed = pushed.subject_indexed;
  for (const auto& ref : references)
    OCIFS_RETURN_IF_ERROR(client_.PutManifest(target_, ref, media_type, text).status());
  report_.manifests.push_back(d);
  return d;
}

Status Pusher::UpdateFallbackTag(PushedReferrer& r) {
  r.fallback_tag = "sha256-" + r.subject.hex();
  json index = {
      {"schemaVersion", 2}, {"mediaType", kMediaTypeOciIndex}, {"manifests", json::array()}};
  auto current = client_.GetManifest(target_, r.fallback_tag);
  if (current.ok()) {
    auto parsed = ParseObject(current->bytes, "referrers tag `" + r.fallback_tag + "`");
    if (parsed.ok() && parsed->value("mediaType", "") == kMediaTypeOciIndex &&
        parsed->contains("manifests") && (*parsed)["manifests"].is_array()) {
      index = std::move(parsed).value();
    }
  } else if (current.status().code() != Code::kNotFound) {
    return current.status();
  }
  for (const auto& m : index["manifests"]) {
    if (m.value("digest", "") == r.manifest.digest.str()) return Status::Ok();
  }
  json d = r.manifest.ToJson();
  d["artifactType"] = r.artifact_type;
  index["manifests"].push_back(d);
  return PutManifest(index, kMediaTypeOciIndex, {r.fallback_tag})
      .status()
      .WithContext("referrers tag `" + r.fallback_tag + "`");
}

}  // namespace

Result<PushReport> Push(RegistryClient& client, const LayoutSource& source,
                        const ImageReference& target, const PushOptions& options) {
  return Pusher(client, source, target, options).Run();
}

std::vector<VariantPush> VariantPushes(const std::vector<IndexEntry>& index,
                                       const std::vector<std::string>& tags) {
  std::vector<std::string> unnamed;
  for (const IndexEntry& e : index) {
    if (!e.is_artifact() && e.variant.empty() && !e.ref_name.empty()) unnamed.push_back(e.ref_name);
  }
  std::vector<VariantPush> out;
  for (const IndexEntry& e : index) {
    if (e.is_artifact() || e.variant.empty() || e.ref_name.empty()) continue;
    auto it = std::find_if(out.begin(), out.end(),
                           [&](const VariantPush& v) { return v.variant == e.variant; });
    if (it == out.end()) {
      out.push_back({e.variant, e.ref_name, {}});
      it = std::prev(out.end());
    }
    auto add = [&](std::string tag) {
      if (std::find(it->tags.begin(), it->tags.end(), tag) == it->tags.end())
        it->tags.push_back(std::move(tag));
    };
    const std::string suffix = "-" + e.variant;
    const bool derived = std::any_of(unnamed.begin(), unnamed.end(), [&](const std::string& u) {
      return e.ref_name == u + suffix;
    });
    if (derived) {
      for (const std::string& t : tags) add(t + suffix);
    } else {
      add(e.ref_name);
    }
  }
  return out;
}

}  // namespace ocifs
