// Registry credentials, found where docker, podman and skopeo keep them.
//
// Files, first match wins: the containers auth file ($REGISTRY_AUTH_FILE, else
// $XDG_RUNTIME_DIR/containers/auth.json, else ~/.config/containers/auth.json), then docker's
// ($DOCKER_CONFIG/config.json, else ~/.docker/config.json). In each: `credHelpers[host]`, then
// `credsStore`, through `docker-credential-NAME get`; then `auths[host]` (`auth` as
// base64("user:password"), or `username` and `password`). Keys may be written as URLs
// (`https://index.docker.io/v1/`); docker.io, index.docker.io and registry-1.docker.io are one.
//
// Secrets are never put in a Status message.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/support/status.h"

namespace ocifs {

struct Credential {
  std::string username;
  std::string secret;
};

class CredentialStore {
 public:
  virtual ~CredentialStore() = default;
  // `domain` as in ImageReference::domain ("docker.io", "127.0.0.1:5000").
  virtual Result<std::optional<Credential>> Lookup(const std::string& domain) const = 0;
};

// Runs `docker-credential-NAME get` with `server` on its stdin; nullopt when it has none.
using CredentialHelper = std::function<Result<std::optional<Credential>>(
    const std::string& name, const std::string& server)>;
Result<std::optional<Credential>> RunCredentialHelper(const std::string& name,
                                                      const std::string& server);

// The files above, in that order, read at each lookup (a `docker login` meanwhile counts).
std::unique_ptr<CredentialStore> MakeDefaultCredentialStore();
// The given files, in order; for tests.
std::unique_ptr<CredentialStore> MakeFileCredentialStore(std::vector<std::string> files,
                                                         CredentialHelper helper);

}  // namespace ocifs
