// Digests the sbom plugin needs (OpenSSL's EVP, as core/support/digest.h uses; the plugin sees the
// SDK only, so it does not share core's Sha256).
#pragma once

#include <openssl/evp.h>

#include <string>
#include <string_view>

namespace ocifs::sbom {

// The raw digest bytes of `data` under `md` (EVP_sha256(), EVP_sha1()).
inline std::string DigestBytes(const EVP_MD* md, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(data.data(), data.size(), out, &n, md, nullptr);
  return std::string(reinterpret_cast<const char*>(out), n);
}

// Lower-case hex of `bytes`.
inline std::string Hex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (char c : bytes) {
    const auto b = static_cast<unsigned char>(c);
    (out += kHex[b >> 4]) += kHex[b & 15];
  }
  return out;
}

inline std::string Sha256Hex(std::string_view data) { return Hex(DigestBytes(EVP_sha256(), data)); }

}  // namespace ocifs::sbom
