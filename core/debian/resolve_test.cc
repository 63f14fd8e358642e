#include "core/debian/resolve.h"

#include <gtest/gtest.h>

namespace ocifs::debian {
namespace {

// A base as `debootstrap --variant=minbase` leaves it (a few of its packages).
constexpr std::string_view kBase = R"(Package: libc6
Status: install ok installed
Priority: optional
Architecture: amd64
Multi-Arch: same
Version: 2.36-9+deb12u4

Package: libssl3
Status: install ok installed
Architecture: amd64
Version: 3.0.11-1~deb12u2

Package: libcom-err2
Status: install ok installed
Architecture: amd64
Version: 1.47.0-2
Depends: libc6 (>= 2.17)

Package: libgnutls30
Status: install ok installed
Architecture: amd64
Version: 3.7.9-2+deb12u2

Package: libdb5.3
Status: install ok installed
Architecture: amd64
Version: 5.3.28+dfsg2-1

Package: python3
Status: install ok installed
Architecture: amd64
Multi-Arch: allowed
Version: 3.11.2-1+b1
Provides: python3-profiler
)";

// An index: libpq5's real chain in bookworm (Depends trimmed to what the base lacks), and
// packages made up for the rules' corner cases. Filename, Size and SHA256 are placeholders.
constexpr std::string_view kIndex = R"(Package: libpq5
Version: 15.5-0+deb12u1
Architecture: amd64
Depends: libc6 (>= 2.33), libgssapi-krb5-2 (>= 1.17), libldap-2.5-0 (>= 2.5.4), libssl3 (>= 3.0.0)

Package: libpq5
Version: 99
Architecture: i386

Package: libpq5
Version: 15.3-0+deb12u1
Architecture: amd64
Depends: libc6 (>= 2.33), libgssapi-krb5-2 (>= 1.17), libldap-2.5-0 (>= 2.5.4), libssl3 (>= 3.0.0)

Package: libgssapi-krb5-2
Version: 1.20.1-2+deb12u1
Architecture: amd64
Depends: libc6 (>= 2.33), libcom-err2 (>= 1.43.9), libk5crypto3 (>= 1.20), libkrb5-3 (= 1.20.1-2+deb12u1), libkrb5support0 (>= 1.15~beta1)

Package: libk5crypto3
Version: 1.20.1-2+deb12u1
Architecture: amd64
Depends: libc6 (>= 2.33), libkrb5support0 (= 1.20.1-2+deb12u1)

Package: libkrb5-3
Version: 1.20.1-2+deb12u1
Architecture: amd64
Depends: libc6 (>= 2.34), libcom-err2 (>= 1.43.9), libk5crypto3 (>= 1.20), libkeyutils1 (>= 1.5.9), libkrb5support0 (= 1.20.1-2+deb12u1), libssl3 (>= 3.0.0)

Package: libkrb5support0
Version: 1.20.1-2+deb12u1
Architecture: amd64
Depends: libc6 (>= 2.34)

Package: libkeyutils1
Version: 1.6.3-2
Architecture: amd64
Depends: libc6 (>= 2.14)

Package: libldap-2.5-0
Version: 2.5.13+dfsg-5
Architecture: amd64
Depends: libc6 (>= 2.34), libgnutls30 (>= 3.7.2), libsasl2-2 (>= 2.1.28+dfsg)

Package: libsasl2-2
Version: 2.1.28+dfsg-10
Architecture: amd64
Depends: libsasl2-modules-db (>= 2.1.28+dfsg-10), libc6 (>= 2.34)

Package: libsasl2-modules-db
Version: 2.1.28+dfsg-10
Architecture: amd64
Depends: libc6 (>= 2.34), libdb5.3

Package: python3-psycopg2
Version: 2.9.5-1+b1
Architecture: amd64
Depends: python3 (<< 3.12), python3 (>= 3.11~), python3:any, libc6 (>= 2.14), libpq5 (>= 12~beta3)

Package: mawk
Version: 1.3.4.20200120-3.1
Architecture: amd64
Priority: required
Provides: awk

Package: gawk
Version: 1:5.2.1-2
Architecture: amd64
Priority: optional
Provides: awk

Package: needs-awk
Version: 1.0-1
Architecture: all
Depends: awk

Package: libnew
Version: 1.0-1
Architecture: amd64
Depends: libc6 (>= 2.38)

Package: libchain
Version: 1-1
Architecture: all
Depends: libmid

Package: libmid
Version: 1-1
Architecture: all
Depends: libgone (>= 2)

Package: libgone
Version: 1.0
Architecture: all

Package: tool
Version: 2.0-1
Architecture: amd64
Depends: libfoo-gone | libbar (>= 1)

Package: libbar
Version: 1.1-1
Architecture: amd64

Package: mta-a
Version: 1
Architecture: amd64
Provides: mail-transport-agent
Conflicts: mail-transport-agent

Package: mta-b
Version: 1
Architecture: amd64
Provides: mail-transport-agent
Conflicts: mail-transport-agent

Package: libnewssl
Version: 3.2-1
Architecture: amd64
Breaks: libssl3 (<< 3.1)

Package: cyc-a
Version: 1
Architecture: all
Depends: cyc-b

Package: cyc-b
Version: 1
Architecture: all
Pre-Depends: cyc-a

Package: needs-vprov
Version: 1
Architecture: all
Depends: libvirt-x (>= 2)

Package: oldx
Version: 1
Architecture: all
Provides: libvirt-x

Package: realx
Version: 1
Architecture: all
Provides: libvirt-x (= 2.1)

Package: only-provider
Version: 4.0
Architecture: all
Provides: single-virtual
)";

// The index text with the download fields every stanza needs.
std::string WithDownloadFields(std::string_view text) {
  std::string out;
  size_t n = 0;
  for (size_t start = 0; start < text.size();) {
    size_t end = text.find("\n\n", start);
    if (end == std::string_view::npos) end = text.size();
    std::string stanza(text.substr(start, end - start));
    while (!stanza.empty() && stanza.back() == '\n') stanza.pop_back();
    out += stanza + "\nFilename: pool/main/x/x_" + std::to_string(n++) +
           ".deb\nSize: 1000\nSHA256: " + std::string(64, 'a') + "\n\n";
    start = end + 2;
  }
  return out;
}

TEST(ResolveTest, Table) {
  auto index = ParsePackages(WithDownloadFields(kIndex), "`Packages`");
  ASSERT_TRUE(index.ok()) << index.status().message();
  auto base = ParseStatus(kBase, "`status`");
  ASSERT_TRUE(base.ok()) << base.status().message();

  // What libpq5 brings that the base lacks, dependencies first (depth first, in field order).
  const std::string kPqChain =
      "libkrb5support0 1.20.1-2+deb12u1, libk5crypto3 1.20.1-2+deb12u1, libkeyutils1 1.6.3-2, "
      "libkrb5-3 1.20.1-2+deb12u1, libgssapi-krb5-2 1.20.1-2+deb12u1, libsasl2-modules-db "
      "2.1.28+dfsg-10, libsasl2-2 2.1.28+dfsg-10, libldap-2.5-0 2.5.13+dfsg-5, ";
  struct Case {
    std::vector<std::string> requests;
    std::string added;    // ids joined by ", ", in order
    std::string in_base;  // ids joined by ", "
    std::string error;    // a part of the message, when it fails
  };
  const Case cases[] = {
      {{"libpq5"}, kPqChain + "libpq5 15.5-0+deb12u1", "", ""},
      {{"libpq5=15.3*", "libkeyutils1"}, kPqChain + "libpq5 15.3-0+deb12u1", "", ""},
      // python3:any and two versioned relations on python3, all met by the base's python3.
      {{"python3-psycopg2"},
       kPqChain + "libpq5 15.5-0+deb12u1, python3-psycopg2 2.9.5-1+b1",
       "",
       ""},
      {{"libpq5", "python3-psycopg2", "libc6"},
       kPqChain + "libpq5 15.5-0+deb12u1, python3-psycopg2 2.9.5-1+b1",
       "libc6 2.36-9+deb12u4",
       ""},
      {{"libc6", "libssl3=3.0.*"}, "", "libc6 2.36-9+deb12u4, libssl3 3.0.11-1~deb12u2", ""},
      {{"libc6=2.37*"},
       "",
       "",
       "package `libc6` (requested as `libc6=2.37*`): the base has `libc6 2.36-9+deb12u4`, and "
       "ocifs "
       "adds packages beside the base's"},
      {{"nosuch"}, "", "", "package `nosuch` (requested as `nosuch`) is not in the index"},
      {{"libpq5", "libpq5=15.3*"},
       "",
       "",
       "package `libpq5` (requested as `libpq5=15.3*`): an earlier request chose `libpq5 "
       "15.5-0+deb12u1`, which "
       "the version asked for does not match"},
      {{"libpq5", "libpq5=15.5*"}, kPqChain + "libpq5 15.5-0+deb12u1", "", ""},
      {{"libpq5=16.*"},
       "",
       "",
       "package `libpq5` (requested as `libpq5=16.*`): no version matches `16.*`; the index has "
       "15.5-0+deb12u1, 15.3-0+deb12u1"},
      {{"awk"},
       "",
       "",
       "package `awk` (requested as `awk`) is a virtual package, provided by gawk, mawk"},
      {{"single-virtual"}, "only-provider 4.0", "", ""},
      {{"needs-awk"}, "mawk 1.3.4.20200120-3.1, needs-awk 1.0-1", "", ""},  // by priority
      {{"gawk", "needs-awk"}, "gawk 1:5.2.1-2, needs-awk 1.0-1", "", ""},   // met already
      {{"libnew"},
       "",
       "",
       "cannot add `libc6 (>= 2.38)`, needed by `libnew 1.0-1` (requested as `libnew`): "
       "`libc6 (>= 2.38)`: the base has `libc6 2.36-9+deb12u4`"},
      {{"libchain"},
       "",
       "",
       "cannot add `libgone (>= 2)`, needed by `libmid 1-1`, needed by `libchain 1-1` (requested "
       "as "
       "`libchain`): `libgone (>= 2)`: the index has `libgone` 1.0 only"},
      {{"tool"}, "libbar 1.1-1, tool 2.0-1", "", ""},
      {{"mta-a", "mta-b"},
       "",
       "",
       "`mta-a 1` conflicts with `mail-transport-agent`, which `mta-b 1` (added) is"},
      {{"mta-a"}, "mta-a 1", "", ""},  // a package's conflict with what it provides itself
      {{"libnewssl"},
       "",
       "",
       "`libnewssl 3.2-1` breaks `libssl3 (<< 3.1)`, which `libssl3 3.0.11-1~deb12u2` (in the "
       "base) is"},
      {{"cyc-a"}, "cyc-b 1, cyc-a 1", "", ""},
      {{"needs-vprov"}, "realx 1, needs-vprov 1", "", ""},
  };
  for (const Case& c : cases) {
    std::vector<Request> requests;
    for (const std::string& text : c.requests) {
      auto r = ParseRequest(text, "`test`");
      ASSERT_TRUE(r.ok()) << r.status().message();
      requests.push_back(*r);
    }
    const std::string what = testing::PrintToString(c.requests);
    auto res = Resolve(requests, *index, *base, "amd64");
    if (!c.error.empty()) {
      ASSERT_FALSE(res.ok()) << what;
      EXPECT_NE(res.status().message().find(c.error), std::string::npos)
          << what << ": " << res.status().message();
      continue;
    }
    ASSERT_TRUE(res.ok()) << what << ": " << res.status().message();
    std::string added, in_base;
    for (const Package& p : res->packages) added += (added.empty() ? "" : ", ") + p.Id();
    for (const std::string& id : res->in_base) in_base += (in_base.empty() ? "" : ", ") + id;
    EXPECT_EQ(added, c.added) << what;
    EXPECT_EQ(in_base, c.in_base) << what;
  }
}

TEST(ResolveTest, Requests) {
  struct Case {
    const char* text;
    const char* name;
    const char* pattern;
  };
  for (const Case& c : {Case{"libpq5", "libpq5", ""}, Case{" ffmpeg=7:5.1.* ", "ffmpeg", "7:5.1.*"},
                        Case{"libstdc++6 = 12.2.0-14", "libstdc++6", "12.2.0-14"}}) {
    auto r = ParseRequest(c.text, "`x`");
    ASSERT_TRUE(r.ok()) << c.text << ": " << r.status().message();
    EXPECT_EQ(r->name, c.name);
    EXPECT_EQ(r->version_pattern, c.pattern);
  }
  for (const char* bad : {"", "LibPQ5", "libpq5=", "lib pq5", "a", "libpq5=1 2"}) {
    auto r = ParseRequest(bad, "`pyproject.toml` tool.ocifs.system-packages");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_TRUE(r.status().message().starts_with("`pyproject.toml` tool.ocifs.system-packages: `"))
        << r.status().message();
  }
}

}  // namespace
}  // namespace ocifs::debian
