#include "core/debian/layer.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/oci/tar.h"
#include "core/oci/tar_reader.h"
#include "core/support/byte_stream_test_util.h"
#include "core/support/digest.h"
#include "core/support/test_util.h"
#include "ocifs/subprocess.hpp"

namespace ocifs::debian {
namespace {

namespace fs = std::filesystem;

void Write(const fs::path& p, const std::string& s, fs::perms perms = fs::perms::none) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << s;
  if (perms != fs::perms::none) fs::permissions(p, perms);
}

std::string ReadFile(const fs::path& p) { return ReadFileOrDie(p.string()); }

// Two packages as Debian builds them, made by dpkg-deb: a library that still ships /lib (as
// packages built before merged /usr do) with a conffile, a hardlink and real md5sums; and a tool
// whose postinst registers an alternative and that ships a file the library ships too.
class SystemLayerTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = tmp_.path();
    const fs::path lib = dir_ / "src/libdemo1";
    Write(lib / "lib/x86_64-linux-gnu/libdemo.so.1.2.3", std::string(150000, 'L'));
    fs::create_symlink("libdemo.so.1.2.3", lib / "lib/x86_64-linux-gnu/libdemo.so.1");
    Write(lib / "usr/bin/demo", "#!/bin/sh\necho demo\n", fs::perms(0755));
    fs::create_hard_link(lib / "usr/bin/demo", lib / "usr/bin/demo-alias");
    Write(lib / "usr/share/doc/demo/README", "shared\n");
    Write(lib / "etc/demo/demo.conf", "level = 1\n");
    Write(
        lib / "DEBIAN/control",
        "Package: libdemo1\nSource: demo\nVersion: 1.2.3-1\nArchitecture: amd64\nMaintainer: ocifs "
        "<test@ocifs.invalid>\nInstalled-Size: 160\nDepends: libc6 (>= 2.34)\nMulti-Arch: "
        "same\nSection: "
        "libs\nPriority: optional\nDescription: demo library\n A library only the tests use.\n .\n "
        "It has two "
        "paragraphs.\n");
    Write(lib / "DEBIAN/conffiles", "/etc/demo/demo.conf\n");
    Write(lib / "DEBIAN/triggers", "activate-noawait ldconfig\n");
    MakeMd5sums(lib);
    const fs::path tools = dir_ / "src/demo-tools";
    Write(tools / "usr/bin/demo-tool", "#!/bin/sh\n", fs::perms(0755));
    Write(tools / "usr/share/doc/demo/README", "tools' own\n");
    Write(tools / "etc/ld.so.conf.d/demo-tools.conf", "/usr/lib/demo-tools\n");
    Write(tools / "DEBIAN/control",
          "Package: demo-tools\nVersion: 1.2.3-1\nArchitecture: amd64\nMaintainer: ocifs "
          "<test@ocifs.invalid>\n"
          "Depends: libdemo1 (= 1.2.3-1)\nDescription: demo tools\n");
    Write(tools / "DEBIAN/postinst",
          "#!/bin/sh\nset -e\nif [ \"$1\" = \"configure\" ]; then\n\tupdate-alternatives --install "
          "/usr/bin/dt dt "
          "/usr/bin/demo-tool 10\nfi\n",
          fs::perms(0755));
    MakeMd5sums(tools);
    for (const char* name : {"libdemo1", "demo-tools"}) {
      const fs::path deb = dir_ / (std::string(name) + ".deb");
      sdk::RunResult r = sdk::RunProcess({"dpkg-deb", "--root-owner-group", "-Zxz", "--build",
                                          (dir_ / "src" / name).string(), deb.string()});
      ASSERT_EQ(r.exit, 0) << r.err;
      LayerPackage p;
      const std::string bytes = ReadFile(deb);
      p.package.name = name;
      p.package.version = "1.2.3-1";
      p.package.arch = "amd64";
      p.package.multi_arch = std::string(name) == "libdemo1" ? "same" : "";
      p.package.filename = "pool/main/d/demo/" + std::string(name) + ".deb";
      p.package.size = bytes.size();
      p.package.sha256 = Digest::Of(bytes).hex();
      auto tree = OpenPosixTree(dir_.string());
      ASSERT_TRUE(tree.ok());
      auto file = (*tree)->Open(std::string(name) + ".deb");
      ASSERT_TRUE(file.ok());
      auto contents = ReadDeb(**file, name);
      ASSERT_TRUE(contents.ok()) << contents.status().message();
      p.contents = std::move(*contents);
      packages_.push_back(std::move(p));
    }
    base_.dpkg_status =
        "Package: libc6\nStatus: install ok installed\nPriority: optional\nArchitecture: "
        "amd64\nMulti-Arch: "
        "same\nVersion: 2.36-9+deb12u4\nMaintainer: GNU Libc Maintainers "
        "<debian-glibc@lists.debian.org>\n"
        "Description: GNU C Library: Shared libraries\n\n";
    base_.merged_usr = {"bin", "lib", "lib64", "sbin"};
    base_.arch = "amd64";
  }

  static void MakeMd5sums(const fs::path& pkg) {
    sdk::RunResult r = sdk::RunProcess(
        {"sh", "-c",
         "cd '" + pkg.string() +
             "' && find . -path ./DEBIAN -prune -o -type f -print | sed 's|^\\./||' | "
             "grep -v '^etc/' | sort | xargs md5sum > DEBIAN/md5sums"});
    ASSERT_EQ(r.exit, 0) << r.err;
  }

  // Opens packages' .debs from dir_ (as the cache would), counting opens.
  DebOpener Opener() {
    return [this](const Package& p) -> Result<std::shared_ptr<File>> {
      ++opens_;
      OCIFS_ASSIGN_OR_RETURN(auto tree, OpenPosixTree(dir_.string()));
      OCIFS_ASSIGN_OR_RETURN(auto file, tree->Open(p.name + ".deb"));
      return std::shared_ptr<File>(std::move(file));
    };
  }

  std::string LayerBytes(const SystemLayerPlan& plan, Status* status = nullptr) {
    std::string tar;
    Status s = VirtualTar::Build(plan.entries, 0)->Stream([&](std::span<const std::byte> b) {
      tar.append(reinterpret_cast<const char*>(b.data()), b.size());
    });
    if (status)
      *status = s;
    else
      EXPECT_TRUE(s.ok()) << s.message();
    return tar;
  }

  TempDir tmp_;
  fs::path dir_;
  std::vector<LayerPackage> packages_;
  BaseSystem base_;
  int opens_ = 0;
};

TEST_F(SystemLayerTest, TheLayerIsWhatDpkgWouldHaveUnpacked) {
  auto debs = std::make_shared<DebTree>(packages_, Opener());
  auto plan = PlanSystemLayer(packages_, base_, debs);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  EXPECT_EQ(plan->warnings,
            (std::vector<std::string>{
                "`demo-tools_1.2.3-1_amd64.deb`: `/usr/share/doc/demo/README` is shipped by "
                "libdemo1 too; "
                "libdemo1's is kept",
                "`demo-tools_1.2.3-1_amd64.deb`: `/etc/ld.so.conf.d/demo-tools.conf` adds library "
                "directories that only /etc/ld.so.cache (ldconfig, not run) makes known: set "
                "LD_LIBRARY_PATH for them",
                "`demo-tools_1.2.3-1_amd64.deb`: its postinst is not run, and it does more than "
                "ldconfig: "
                "`update-alternatives --install /usr/bin/dt dt /usr/bin/demo-tool 10`"}));
  const std::string tar = LayerBytes(*plan);
  EXPECT_EQ(opens_, 2) << "each .deb opened (and verified) once";

  // Unpacked over a merged-/usr root, the layer is what dpkg itself reports as installed.
  const fs::path root = dir_ / "root";
  fs::create_directories(root / "usr");
  for (const char* d : {"bin", "lib", "lib64", "sbin"}) {
    fs::create_directories(root / "usr" / d);
    fs::create_symlink(std::string("usr/") + d, root / d);
  }
  Write(root / "var/lib/dpkg/info/format",
        "1\n");  // a base's dpkg database has it: PKG:ARCH.list names
  Write(dir_ / "layer.tar", tar);
  sdk::RunResult untar =
      sdk::RunProcess({"tar", "-C", root.string(), "-xf", (dir_ / "layer.tar").string()});
  ASSERT_EQ(untar.exit, 0) << untar.err;
  EXPECT_TRUE(fs::is_symlink(root / "lib")) << "the base's /lib link survives the layer";
  EXPECT_EQ(ReadFile(root / "usr/lib/x86_64-linux-gnu/libdemo.so.1.2.3"), std::string(150000, 'L'));
  EXPECT_EQ(fs::read_symlink(root / "usr/lib/x86_64-linux-gnu/libdemo.so.1"), "libdemo.so.1.2.3");
  EXPECT_EQ(fs::hard_link_count(root / "usr/bin/demo"), 2u);
  EXPECT_EQ(fs::status(root / "usr/bin/demo").permissions() & fs::perms::owner_exec,
            fs::perms::owner_exec);
  EXPECT_EQ(ReadFile(root / "usr/share/doc/demo/README"), "shared\n");
  for (const char* pkg : {"libdemo1", "demo-tools", "libc6"}) {
    sdk::RunResult s = sdk::RunProcess({"dpkg", "--root=" + root.string(), "-s", pkg});
    EXPECT_EQ(s.exit, 0) << pkg << ": " << s.err;
    EXPECT_NE(s.out.find("Status: install ok installed"), std::string::npos) << s.out;
  }
  sdk::RunResult list = sdk::RunProcess({"dpkg", "--root=" + root.string(), "-L", "libdemo1"});
  EXPECT_NE(list.out.find("/lib/x86_64-linux-gnu/libdemo.so.1.2.3\n"), std::string::npos)
      << list.out + list.err;
  sdk::RunResult verify =
      sdk::RunProcess({"dpkg", "--root=" + root.string(), "--verify", "libdemo1", "demo-tools"});
  EXPECT_EQ(verify.exit, 0) << verify.out << verify.err;
  // Every file matches its package's md5sums, but the one both ship: libdemo1's was kept.
  EXPECT_EQ(verify.out, "??5??????   /usr/share/doc/demo/README\n");
  const std::string status = ReadFile(root / "var/lib/dpkg/status");
  EXPECT_NE(status.find("Conffiles:\n /etc/demo/demo.conf fa65969e69439410ee1f0d57415dc6b0\n"),
            std::string::npos)
      << status;
  EXPECT_TRUE(fs::exists(root / "var/lib/dpkg/info/libdemo1:amd64.triggers"));
  EXPECT_TRUE(fs::exists(root / "var/lib/dpkg/info/demo-tools.list"));
  EXPECT_EQ(fs::status(root / "var/lib/dpkg/info/demo-tools.postinst").permissions() &
                fs::perms::owner_exec,
            fs::perms::owner_exec);

  // The same inputs, the same bytes.
  auto again = PlanSystemLayer(packages_, base_, std::make_shared<DebTree>(packages_, Opener()));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(Digest::Of(LayerBytes(*again)), Digest::Of(tar));
  EXPECT_EQ(VirtualTar::Build(again->entries, 0)->CacheKey(),
            VirtualTar::Build(plan->entries, 0)->CacheKey());
}

TEST_F(SystemLayerTest, ReadsAnywhereAndNeverServesATamperedDeb) {
  auto debs = std::make_shared<DebTree>(packages_, Opener());
  auto plan = PlanSystemLayer(packages_, base_, debs);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  const std::string whole = LayerBytes(*plan);
  auto tar = VirtualTar::Build(plan->entries, 0);
  // Backwards and in odd pieces: each read finds its place in the data.tar again.
  for (uint64_t end = whole.size(); end > 0;) {
    const uint64_t start = end > 70001 ? end - 70001 : 0;
    std::string got(end - start, '\0');
    ASSERT_TRUE(tar->ReadAt(start, std::as_writable_bytes(std::span(got))).ok()) << start;
    ASSERT_EQ(got, whole.substr(start, end - start)) << start;
    end = start;
  }

  // A .deb changed in the cache: the read fails, whatever the offset.
  std::string bytes = ReadFile(dir_ / "libdemo1.deb");
  bytes[bytes.size() / 2] ^= 1;
  Write(dir_ / "libdemo1.deb", bytes);
  auto fresh = std::make_shared<DebTree>(packages_, Opener());
  auto tampered = PlanSystemLayer(packages_, base_, fresh);
  ASSERT_TRUE(tampered.ok());
  Status s;
  LayerBytes(*tampered, &s);
  EXPECT_EQ(s.code(), Code::kCorrupt) << s.message();
  EXPECT_NE(s.message().find("`libdemo1_1.2.3-1_amd64.deb` is " + std::to_string(bytes.size()) +
                             " bytes with SHA256 "),
            std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("but the index says"), std::string::npos) << s.message();
}

TEST(UnhandledScriptLineTest, Cases) {
  struct Case {
    std::string script;
    std::optional<std::string> line;
  };
  const Case cases[] = {
      {"#!/bin/sh\nset -e\n# Automatically added by dh_makeshlibs/13.11.4\nif [ \"$1\" = "
       "\"configure\" ]; then\n"
       "\tldconfig\nfi\n# End automatically added section\n",
       std::nullopt},
      {"#!/bin/sh\nset -e\ncase \"$1\" in\n  configure)\n    dpkg-trigger --no-await update-foo\n  "
       ";;\n"
       "  abort-upgrade|abort-remove|abort-deconfigure)\n  ;;\n  *)\n    echo \"postinst called "
       "with unknown "
       "argument \\`$1'\" >&2\n    exit 1\n  ;;\nesac\nexit 0\n",
       std::nullopt},
      {"#!/bin/sh\nset -e\nadduser --system --group demo\n", "adduser --system --group demo"},
      {"#!/bin/sh -e\n\nfc-cache -s\n", "fc-cache -s"},
  };
  for (const Case& c : cases) EXPECT_EQ(UnhandledScriptLine(c.script), c.line) << c.script;
}

}  // namespace
}  // namespace ocifs::debian
