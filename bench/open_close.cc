// bench/open_close: the system calls a READ of a layer makes for each source file, and nothing
// else: openat2 under the tree's root (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS, as
// core/support/tree.cc opens), fstat, close. bench/read.sh compares their sum over the corpus with
// what a warm remount's `cat` of the corpus takes beyond the one-file floor.
//
//   open_close ROOT...   prints "FILES MS": the regular files under the roots, and the
//                        milliseconds of one pass over all of them (best of 5 passes)
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: open_close ROOT...\n");
    return 2;
  }
  std::vector<std::pair<int, std::string>> files;  // root fd, path under it
  for (int i = 1; i < argc; ++i) {
    const std::filesystem::path root(argv[i]);
    const int root_fd = ::open(argv[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root_fd < 0) {
      std::perror(argv[i]);
      return 1;
    }
    for (const auto& e : std::filesystem::recursive_directory_iterator(root)) {
      if (e.is_regular_file() && !e.is_symlink())
        files.emplace_back(root_fd, std::filesystem::relative(e.path(), root).string());
    }
  }
  struct open_how how = {};
  how.flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  double best = 1e18;
  for (int pass = 0; pass < 5; ++pass) {
    const auto start = std::chrono::steady_clock::now();
    for (const auto& [root_fd, path] : files) {
      const long fd = ::syscall(SYS_openat2, root_fd, path.c_str(), &how, sizeof how);
      if (fd < 0) {
        std::perror(path.c_str());
        return 1;
      }
      struct stat st;
      ::fstat(static_cast<int>(fd), &st);
      ::close(static_cast<int>(fd));
    }
    best = std::min(
        best, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                  .count());
  }
  std::printf("%zu %.0f\n", files.size(), best);
  return 0;
}
