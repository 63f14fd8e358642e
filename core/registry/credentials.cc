#include "core/registry/credentials.h"

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/support/text.h"
#include "ocifs/subprocess.hpp"

namespace ocifs {
namespace {

// "https://index.docker.io/v1/" -> "index.docker.io"; "host:5000" stays.
std::string KeyHost(std::string key) {
  if (size_t scheme = key.find("://"); scheme != std::string::npos) key = key.substr(scheme + 3);
  if (size_t slash = key.find('/'); slash != std::string::npos) key.resize(slash);
  return key;
}

bool IsDockerHub(const std::string& host) {
  return host == "docker.io" || host == "index.docker.io" || host == "registry-1.docker.io";
}

bool SameRegistry(const std::string& key, const std::string& domain) {
  std::string host = KeyHost(key);
  return host == domain || (IsDockerHub(host) && IsDockerHub(domain));
}

// What a credential helper is asked for: docker's own name for Docker Hub.
std::string HelperServer(const std::string& domain) {
  return IsDockerHub(domain) ? "https://index.docker.io/v1/" : domain;
}

std::string Home() {
  const char* home = std::getenv("HOME");
  return home != nullptr ? home : "";
}

class FileCredentialStore : public CredentialStore {
 public:
  FileCredentialStore(std::vector<std::string> files, CredentialHelper helper)
      : files_(std::move(files)), helper_(std::move(helper)) {}

  Result<std::optional<Credential>> Lookup(const std::string& domain) const override {
    for (const auto& file : files_) {
      std::ifstream in(file);
      if (!in) continue;  // absent files are the common case
      std::stringstream text;
      text << in.rdbuf();
      auto j = nlohmann::json::parse(text.str(), nullptr, false);
      if (j.is_discarded() || !j.is_object()) {
        return InvalidArgument(fmt::format("credentials file `{}` is not a JSON object", file));
      }
      OCIFS_ASSIGN_OR_RETURN(auto found, LookupIn(j, file, domain));
      if (found) return found;
    }
    return std::optional<Credential>();
  }

 private:
  Result<std::optional<Credential>> LookupIn(const nlohmann::json& j, const std::string& file,
                                             const std::string& domain) const {
    if (auto helpers = j.find("credHelpers"); helpers != j.end() && helpers->is_object()) {
      for (const auto& [key, name] : helpers->items()) {
        if (SameRegistry(key, domain) && name.is_string())
          return helper_(name.get<std::string>(), HelperServer(domain));
      }
    }
    if (auto store = j.find("credsStore");
        store != j.end() && store->is_string() && !store->get<std::string>().empty()) {
      OCIFS_ASSIGN_OR_RETURN(auto found, helper_(store->get<std::string>(), HelperServer(domain)));
      if (found) return found;
    }
    auto auths = j.find("auths");
    if (auths == j.end() || !auths->is_object()) return std::optional<Credential>();
    for (const auto& [key, entry] : auths->items()) {
      if (!SameRegistry(key, domain) || !entry.is_object()) continue;
      if (auto auth = entry.find("auth");
          auth != entry.end() && auth->is_string() && !auth->get<std::string>().empty()) {
        auto decoded = Base64Decode(auth->get<std::string>());
        size_t colon = decoded ? decoded->find(':') : std::string::npos;
        if (colon == std::string::npos) {
          return InvalidArgument(fmt::format(
              "credentials file `{}`: auths[\"{}\"].auth is not base64 of \"user:password\"", file,
              key));
        }
        return std::optional<Credential>(
            Credential{decoded->substr(0, colon), decoded->substr(colon + 1)});
      }
      std::string user = entry.value("username", ""), password = entry.value("password", "");
      if (!user.empty()) return std::optional<Credential>(Credential{user, password});
    }
    return std::optional<Credential>();
  }

  std::vector<std::string> files_;
  CredentialHelper helper_;
};

}  // namespace

Result<std::optional<Credential>> RunCredentialHelper(const std::string& name,
                                                      const std::string& server) {
  const std::string program = "docker-credential-" + name;
  sdk::RunOptions options;
  options.input = server;
  options.discard_stderr = true;
  options.max_output = 1 << 20;
  const sdk::RunResult ran = sdk::RunProcess({program, "get"}, options);
  if (ran.spawn_error == ENOENT || ran.exit == 127) {
    return NotFound(fmt::format("credential helper `{}` is configured but not on PATH", program));
  }
  if (ran.spawn_error != 0) return ErrnoStatus(ran.spawn_error, program, "spawn");
  const std::string& text = ran.out;
  if (ran.exit != 0) {
    // "credentials not found in native keychain" is how helpers say they have none.
    return std::optional<Credential>();
  }
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("Secret")) {
    return InvalidArgument(
        fmt::format("credential helper `{}` answered something other than its JSON", program));
  }
  return std::optional<Credential>(Credential{j.value("Username", ""), j.value("Secret", "")});
}

std::unique_ptr<CredentialStore> MakeFileCredentialStore(std::vector<std::string> files,
                                                         CredentialHelper helper) {
  return std::make_unique<FileCredentialStore>(std::move(files), std::move(helper));
}

std::unique_ptr<CredentialStore> MakeDefaultCredentialStore() {
  std::vector<std::string> files;
  const std::string home = Home();
  if (const char* f = std::getenv("REGISTRY_AUTH_FILE"); f != nullptr && *f != '\0') {
    files.push_back(f);
  } else if (const char* run = std::getenv("XDG_RUNTIME_DIR"); run != nullptr && *run != '\0') {
    files.push_back(std::string(run) + "/containers/auth.json");
  }
  if (!home.empty()) files.push_back(home + "/.config/containers/auth.json");
  if (const char* d = std::getenv("DOCKER_CONFIG"); d != nullptr && *d != '\0') {
    files.push_back(std::string(d) + "/config.json");
  } else if (!home.empty()) {
    files.push_back(home + "/.docker/config.json");
  }
  return MakeFileCredentialStore(std::move(files), RunCredentialHelper);
}

}  // namespace ocifs
