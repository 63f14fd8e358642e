#include "core/support/digest.h"

#include <cstdlib>

#include <fmt/format.h>
#include <openssl/evp.h>

namespace ocifs {

bool IsLowerHex64(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

Result<Digest> Digest::Parse(std::string_view text) {
  constexpr std::string_view kPrefix = "sha256:";
  if (!text.starts_with(kPrefix) || !IsLowerHex64(text.substr(kPrefix.size()))) {
    return InvalidArgument(fmt::format("digest `{}`: want sha256:<64 lowercase hex>", text));
  }
  return FromHex(text.substr(kPrefix.size()));
}

Digest Digest::FromHex(std::string_view hex) {
  if (!IsLowerHex64(hex)) std::abort();  // a caller broke the REQUIRES
  Digest d;
  d.hex_ = std::string(hex);
  return d;
}

Digest Digest::Of(std::span<const std::byte> data) {
  Sha256 h;
  h.Update(data);
  return h.Finish();
}

Digest Digest::Of(std::string_view data) {
  return Of(std::as_bytes(std::span(data.data(), data.size())));
}

namespace {

// SHA-256, fetched from libcrypto once (EVP_sha256() would have every EVP_DigestInit_ex look it
// up again).
const EVP_MD* Sha256Md() {
  static EVP_MD* const md = [] {
    EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (fetched == nullptr) std::abort();  // a broken libcrypto: nothing can be hashed
    return fetched;
  }();
  return md;
}

}  // namespace

void PrepareSha256() { Sha256Md(); }

struct Sha256::Ctx {
  EVP_MD_CTX* md = nullptr;
  ~Ctx() { EVP_MD_CTX_free(md); }
};

Sha256::Sha256() : ctx_(std::make_unique<Ctx>()) {
  ctx_->md = EVP_MD_CTX_new();
  if (ctx_->md == nullptr || EVP_DigestInit_ex(ctx_->md, Sha256Md(), nullptr) != 1) {
    std::abort();  // out of memory or a broken libcrypto: nothing sensible to return
  }
}
Sha256::~Sha256() = default;
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

void Sha256::Update(std::span<const std::byte> data) {
  if (!data.empty()) EVP_DigestUpdate(ctx_->md, data.data(), data.size());
}

void Sha256::Update(std::string_view data) {
  Update(std::as_bytes(std::span(data.data(), data.size())));
}

Digest Sha256::Finish() {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx_->md, out, &len);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex(len * 2, '0');
  for (unsigned int i = 0; i < len; ++i) {
    hex[2 * i] = kHex[out[i] >> 4];
    hex[2 * i + 1] = kHex[out[i] & 0xf];
  }
  return Digest::FromHex(hex);
}

}  // namespace ocifs
