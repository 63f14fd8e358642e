#include "core/debian/sources.h"

#include <algorithm>
#include <charconv>

#include "core/debian/control.h"
#include "core/support/text.h"

namespace ocifs::debian {
namespace {

std::vector<std::string> Words(std::string_view s) {
  std::vector<std::string> out = SplitWords({std::string(s)});
  return out;
}

std::string WithoutSlash(std::string uri) {
  while (uri.size() > 1 && uri.back() == '/') uri.pop_back();
  return uri;
}

Status CheckUri(std::string_view uri, std::string_view where) {
  if (uri.starts_with("http://") || uri.starts_with("https://")) return Status::Ok();
  return Unsupported(std::string(where) + ": `" + std::string(uri) +
                     "`: only http:// and https:// archives can be fetched");
}

Status CheckSuite(std::string_view suite, std::string_view where) {
  if (suite.ends_with('/'))
    return Unsupported(std::string(where) + ": `" + std::string(suite) +
                       "` is a flat repository; ocifs reads archives with dists/SUITE/");
  return Status::Ok();
}

bool IsHex64(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

Result<std::vector<AptSource>> ParseSourcesList(std::string_view text, std::string_view what) {
  std::vector<AptSource> out;
  const std::vector<std::string_view> lines = SplitLines(text);
  for (size_t n = 0; n < lines.size(); ++n) {
    std::string_view line = lines[n];
    line = TrimSpace(line.substr(0, line.find('#')));
    if (line.empty()) continue;
    const std::string where = std::string(what) + " line " + std::to_string(n + 1);
    AptSource s;
    s.origin = where;
    std::string_view rest;
    if (line.starts_with("deb-src ") || line.starts_with("deb-src\t")) continue;
    if (!line.starts_with("deb ") && !line.starts_with("deb\t"))
      return InvalidArgument(where + ": a line starts with `deb` or `deb-src`");
    rest = TrimSpace(line.substr(3));
    if (rest.starts_with('[')) {
      const size_t close = rest.find(']');
      if (close == std::string_view::npos) return InvalidArgument(where + ": '[' without ']'");
      for (const std::string& option : Words(rest.substr(1, close - 1))) {
        const size_t eq = option.find('=');
        const std::string key = option.substr(0, eq);
        const std::string value = eq == std::string::npos ? "" : option.substr(eq + 1);
        if (key == "signed-by") {
          for (std::string_view path : SplitWords({value}, ",")) s.signed_by.emplace_back(path);
        } else if (key == "trusted" && value == "yes") {
          return Unsupported(where +
                             ": `trusted=yes` turns off the signature check, which ocifs "
                             "always makes; sign the archive and give its key (apt-keyring)");
        }
      }
      rest = TrimSpace(rest.substr(close + 1));
    }
    std::vector<std::string> words = Words(rest);
    if (words.size() < 2) return InvalidArgument(where + ": a `deb` line names a URI and a suite");
    OCIFS_RETURN_IF_ERROR(CheckUri(words[0], where));
    OCIFS_RETURN_IF_ERROR(CheckSuite(words[1], where));
    s.uri = WithoutSlash(words[0]);
    s.suite = words[1];
    s.components.assign(words.begin() + 2, words.end());
    if (s.components.empty())
      return InvalidArgument(where + ": `" + s.suite + "` has no components");
    out.push_back(std::move(s));
  }
  return out;
}

Result<std::vector<AptSource>> ParseDeb822Sources(std::string_view text, std::string_view what) {
  OCIFS_ASSIGN_OR_RETURN(std::vector<Paragraph> paragraphs, ParseControl(text, what));
  std::vector<AptSource> out;
  for (const Paragraph& p : paragraphs) {
    const std::string where = std::string(what) + " line " + std::to_string(p.line());
    const std::vector<std::string> types = Words(p.Get("Types").value_or(""));
    if (std::find(types.begin(), types.end(), "deb") == types.end()) continue;
    if (TrimSpace(p.Get("Enabled").value_or("yes")) == "no") continue;
    if (TrimSpace(p.Get("Trusted").value_or("no")) == "yes")
      return Unsupported(where +
                         ": `Trusted: yes` turns off the signature check, which ocifs "
                         "always makes; sign the archive and give its key (apt-keyring)");
    const std::vector<std::string> uris = Words(p.Get("URIs").value_or(""));
    const std::vector<std::string> suites = Words(p.Get("Suites").value_or(""));
    const std::vector<std::string> components = Words(p.Get("Components").value_or(""));
    if (uris.empty() || suites.empty())
      return InvalidArgument(where + ": a source needs URIs and Suites");
    if (components.empty()) return InvalidArgument(where + ": a source needs Components");
    std::vector<std::string> signed_by;
    std::string key;
    if (std::optional<std::string_view> sb = p.Get("Signed-By")) {
      if (sb->find("-----BEGIN PGP PUBLIC KEY BLOCK-----") != std::string_view::npos) {
        // Continuation lines; " ." stands for an empty line.
        for (std::string_view line : SplitLines(sb->substr(sb->find("-----BEGIN")))) {
          line = TrimSpace(line);
          ((key += line == "." ? "" : std::string(line)) += '\n');
        }
      } else {
        signed_by = Words(*sb);
      }
    }
    for (const std::string& uri : uris) {
      OCIFS_RETURN_IF_ERROR(CheckUri(uri, where));
      for (const std::string& suite : suites) {
        OCIFS_RETURN_IF_ERROR(CheckSuite(suite, where));
        out.push_back(AptSource{.uri = WithoutSlash(uri),
                                .suite = suite,
                                .components = components,
                                .signed_by = signed_by,
                                .signed_by_key = key,
                                .origin = where});
      }
    }
  }
  return out;
}

Result<std::vector<AptSource>> MirrorSources(std::string_view mirror,
                                             const std::vector<AptSource>& base,
                                             std::string_view what) {
  const std::vector<std::string> words = Words(mirror);
  const std::string where = std::string(what) + " `" + std::string(TrimSpace(mirror)) + "`";
  if (words.empty()) return InvalidArgument(std::string(what) + ": the mirror is empty");
  OCIFS_RETURN_IF_ERROR(CheckUri(words[0], where));
  if (words.size() == 2)
    return InvalidArgument(where + ": a mirror with a suite names its components too");
  if (words.size() > 2) {
    OCIFS_RETURN_IF_ERROR(CheckSuite(words[1], where));
    return std::vector<AptSource>{AptSource{.uri = WithoutSlash(words[0]),
                                            .suite = words[1],
                                            .components = {words.begin() + 2, words.end()},
                                            .signed_by = {},
                                            .signed_by_key = {},
                                            .origin = where}};
  }
  if (base.empty())
    return InvalidArgument(where +
                           ": the base has no apt sources to take suites from; name them "
                           "(\"URL SUITE COMPONENT...\")");
  std::vector<AptSource> out;
  for (const AptSource& b : base) {
    AptSource s = b;
    s.uri = WithoutSlash(words[0]);
    s.origin = where + " for " + b.origin;
    // The same suite from two of the base's archives would now be asked twice.
    if (std::none_of(out.begin(), out.end(),
                     [&](const AptSource& o) { return o.suite == s.suite; }))
      out.push_back(std::move(s));
  }
  return out;
}

const ReleaseFile* Release::Find(std::string_view path) const {
  for (const ReleaseFile& f : files) {
    if (f.path == path) return &f;
  }
  return nullptr;
}

Result<Release> ParseRelease(std::string_view text, std::string_view suite, std::string_view what) {
  OCIFS_ASSIGN_OR_RETURN(std::vector<Paragraph> paragraphs, ParseControl(text, what));
  if (paragraphs.size() != 1)
    return InvalidArgument(std::string(what) + ": a Release file is one paragraph, this has " +
                           std::to_string(paragraphs.size()));
  const Paragraph& p = paragraphs[0];
  Release r;
  r.suite = std::string(TrimSpace(p.Get("Suite").value_or("")));
  r.codename = std::string(TrimSpace(p.Get("Codename").value_or("")));
  if (suite != r.suite && suite != r.codename)
    return InvalidArgument(std::string(what) + ": it is the Release of `" +
                           (r.codename.empty() ? r.suite : r.codename) + "`, not of `" +
                           std::string(suite) + "`");
  r.architectures = Words(p.Get("Architectures").value_or(""));
  r.components = Words(p.Get("Components").value_or(""));
  r.acquire_by_hash = TrimSpace(p.Get("Acquire-By-Hash").value_or("no")) == "yes";
  for (std::string_view line : p.Lines("SHA256")) {
    const std::vector<std::string> w = Words(line);
    ReleaseFile f;
    auto bad = [&] {
      return InvalidArgument(std::string(what) + ": SHA256 line `" + std::string(line) +
                             "` is not \"HASH SIZE PATH\"");
    };
    if (w.size() != 3 || !IsHex64(w[0])) return bad();
    auto [end, ec] = std::from_chars(w[1].data(), w[1].data() + w[1].size(), f.size);
    if (ec != std::errc() || end != w[1].data() + w[1].size()) return bad();
    f.sha256 = w[0];
    f.path = w[2];
    r.files.push_back(std::move(f));
  }
  if (r.files.empty())
    return InvalidArgument(std::string(what) + ": it has no SHA256 list of its indexes");
  return r;
}

}  // namespace ocifs::debian
