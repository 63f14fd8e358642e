// apt's trust, checked the way apt checks it: a suite's InRelease is a clearsigned Release file,
// and gpgv verifies it against the keys the base image trusts. What follows (Packages, .deb
// files) is trusted through the SHA256 sums the verified text lists.
//
//   OCIFS_ASSIGN_OR_RETURN(std::string release, VerifyClearsigned(inrelease, keyrings, "InRelease
//   of ..."));
//
// Thread safety: free functions; each call uses a directory of its own.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/support/status.h"

namespace ocifs::debian {

// OpenPGP public keys as a file holds them: a binary keyring ("*.gpg") or armored ("*.asc").
struct Keyring {
  std::string
      name;  // where it came from, for messages: "/usr/share/keyrings/debian-archive-keyring.gpg"
  std::string bytes;
};

// The binary form of an armored key file (every "BEGIN PGP PUBLIC KEY BLOCK" in it, base64
// decoded); bytes that are not armored are returned as they are. kInvalidArgument names `what`
// when the armor is broken.
Result<std::string> Dearmor(std::string_view key, std::string_view what);

// Checks `message`, a clearsigned text (InRelease), with gpgv against `keyrings` and returns the
// text that was signed, as gpgv wrote it out: only signed bytes are ever parsed. kCorrupt, naming
// `what` and gpgv's reason, when no key of the keyrings made a good signature (a bad, expired or
// revoked one, an unknown key, no signature at all); kNotFound when gpgv is not installed.
Result<std::string> VerifyClearsigned(std::string_view message,
                                      const std::vector<Keyring>& keyrings, std::string_view what);

}  // namespace ocifs::debian
