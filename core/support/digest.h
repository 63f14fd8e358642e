// Content digests: the `sha256:<64 lowercase hex>` names of blobs, and a streaming hasher.
//
// Sha256 wraps OpenSSL's EVP interface; it owns its context (move-only). Digest is a validated
// value: it can only hold a well-formed sha256 digest.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "core/support/status.h"

namespace ocifs {

class Digest {
 public:
  Digest() = default;  // empty: not a valid digest until assigned

  // Accepts "sha256:<64 lowercase hex>" only.
  static Result<Digest> Parse(std::string_view text);
  // REQUIRES: hex is 64 lowercase hex characters.
  static Digest FromHex(std::string_view hex);
  static Digest Of(std::span<const std::byte> data);
  static Digest Of(std::string_view data);

  bool empty() const { return hex_.empty(); }
  const std::string& hex() const { return hex_; }
  std::string str() const { return "sha256:" + hex_; }
  // The first 12 hex characters, for messages.
  std::string Short() const { return hex_.substr(0, 12); }

  friend bool operator==(const Digest&, const Digest&) = default;
  friend auto operator<=>(const Digest&, const Digest&) = default;

 private:
  std::string hex_;
};

bool IsLowerHex64(std::string_view s);

// Loads libcrypto's SHA-256 if it is not loaded yet. The first hasher of a process waits for it:
// libcrypto 3 loads its default provider then, 2-3 ms. A command that will hash can call this
// on a thread of its own while it reads its inputs, so that the first hash does not wait.
// Thread-safe. Not on a thread while the process may fork: the child could inherit a lock the
// load holds.
void PrepareSha256();

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Update(std::span<const std::byte> data);
  void Update(std::string_view data);
  // Ends the stream. REQUIRES: called once; the hasher is unusable afterwards.
  Digest Finish();

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

}  // namespace ocifs
