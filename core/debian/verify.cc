#include "core/debian/verify.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <span>

#include "core/support/atomic_file.h"
#include "core/support/private_dir.h"
#include "core/support/text.h"
#include "ocifs/subprocess.hpp"

namespace ocifs::debian {
namespace {

Status WriteNew(const std::string& path, std::string_view bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoStatus(errno, "file `" + path + "`", "create");
  Status written =
      WriteAll(fd, std::as_bytes(std::span(bytes.data(), bytes.size())), "file `" + path + "`");
  if (::close(fd) != 0 && written.ok())
    written = ErrnoStatus(errno, "file `" + path + "`", "close");
  return written;
}

// gpgv's status lines ("[GNUPG:] GOODSIG ...") that say why a check failed, for the message.
std::string Reason(const std::string& status, const std::string& err) {
  for (std::string_view line : SplitLines(status)) {
    for (std::string_view word :
         {"BADSIG", "EXPKEYSIG", "REVKEYSIG", "EXPSIG", "NO_PUBKEY", "NODATA"}) {
      const std::string tag = "[GNUPG:] " + std::string(word);
      if (line.starts_with(tag)) {
        if (word == "BADSIG") return "a bad signature: its bytes are not what was signed";
        if (word == "EXPKEYSIG") return "signed by an expired key";
        if (word == "REVKEYSIG") return "signed by a revoked key";
        if (word == "EXPSIG") return "an expired signature";
        if (word == "NO_PUBKEY")
          return "signed by key " + std::string(TrimSpace(line.substr(tag.size()))) +
                 ", which no trusted keyring holds";
        return "no signature in it";
      }
    }
  }
  std::string last;
  for (std::string_view line : SplitLines(err)) {
    if (!TrimSpace(line).empty()) last = std::string(TrimSpace(line));
  }
  return last.empty() ? "gpgv refused it" : "gpgv: " + last;
}

}  // namespace

Result<std::string> Dearmor(std::string_view key, std::string_view what) {
  constexpr std::string_view kBegin = "-----BEGIN PGP PUBLIC KEY BLOCK-----";
  constexpr std::string_view kEnd = "-----END PGP PUBLIC KEY BLOCK-----";
  if (key.find(kBegin) == std::string_view::npos) return std::string(key);
  std::string out;
  enum { kOutside, kHeaders, kBody } state = kOutside;
  std::string body;
  for (std::string_view line : SplitLines(key)) {
    line = TrimSpace(line);
    if (state == kOutside) {
      if (line == kBegin) state = kHeaders;
    } else if (state == kHeaders) {
      if (line.empty())
        state = kBody;
      else if (line.find(':') == std::string_view::npos) {
        state = kBody;  // no armor headers, and no blank line either
        body += line;
      }
    } else if (line == kEnd) {
      std::optional<std::string> bytes = Base64Decode(body);
      if (!bytes) return InvalidArgument(std::string(what) + ": the armored key is not base64");
      out += *bytes;
      body.clear();
      state = kOutside;
    } else if (!line.starts_with('=')) {  // "=XXXX" is the checksum line
      body += line;
    }
  }
  if (state != kOutside)
    return InvalidArgument(std::string(what) + ": an armored key block does not end");
  return out;
}

Result<std::string> VerifyClearsigned(std::string_view message,
                                      const std::vector<Keyring>& keyrings, std::string_view what) {
  if (keyrings.empty())
    return Corrupt(std::string(what) + ": no trusted keyring to check its signature with");
  OCIFS_ASSIGN_OR_RETURN(ScratchDir dir, ScratchDir::Make("ocifs-gpgv"));
  std::vector<std::string> argv = {"gpgv", "--homedir", dir.path(), "--status-fd", "1"};
  for (size_t i = 0; i < keyrings.size(); ++i) {
    OCIFS_ASSIGN_OR_RETURN(std::string key,
                           Dearmor(keyrings[i].bytes, "keyring `" + keyrings[i].name + "`"));
    const std::string path = dir.path() + "/keyring-" + std::to_string(i) + ".gpg";
    OCIFS_RETURN_IF_ERROR(WriteNew(path, key));
    argv.insert(argv.end(), {"--keyring", path});
  }
  const std::string in = dir.path() + "/InRelease", out = dir.path() + "/Release";
  OCIFS_RETURN_IF_ERROR(WriteNew(in, message));
  argv.insert(argv.end(), {"--output", out, in});
  const sdk::RunResult ran = sdk::RunProcess(argv);
  if (ran.spawn_error == ENOENT) return NotFound("gpgv is not installed: apt-get install gpgv");
  if (ran.spawn_error != 0) return ErrnoStatus(ran.spawn_error, "gpgv", "start");
  bool good = false, valid = false;
  for (std::string_view line : SplitLines(ran.out)) {
    good = good || line.starts_with("[GNUPG:] GOODSIG ");
    valid = valid || line.starts_with("[GNUPG:] VALIDSIG ");
  }
  if (ran.exit != 0 || !good || !valid)
    return Corrupt(std::string(what) +
                   ": its signature does not check: " + Reason(ran.out, ran.err));
  const int fd = ::open(out.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return ErrnoStatus(errno, "gpgv's output `" + out + "`", "open");
  std::string text;
  char buf[65536];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof(buf))) > 0) text.append(buf, static_cast<size_t>(n));
  ::close(fd);
  if (n < 0) return ErrnoStatus(errno, "gpgv's output `" + out + "`", "read");
  return text;
}

}  // namespace ocifs::debian
