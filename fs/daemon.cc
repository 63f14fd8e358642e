#include "fs/daemon.h"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <utility>

#include <fmt/format.h>

namespace ocifs::vfs {
namespace {

// The parent's side: waits for the byte that says the child detached, else for the child's end.
[[noreturn]] void WaitForChild(pid_t child, int fd) {
  char ready = 0;
  ssize_t n;
  do {
    n = ::read(fd, &ready, 1);
  } while (n < 0 && errno == EINTR);
  if (n == 1) ::_exit(0);
  // The child closed its end without the byte: it is exiting (or exited) before detaching, and
  // has said why on stderr.
  int status = 0;
  pid_t waited;
  do {
    waited = ::waitpid(child, &status, 0);
  } while (waited < 0 && errno == EINTR);
  if (waited < 0) {
    std::fprintf(stderr, "ocifs: error: waiting for the mount's daemon: %s\n",
                 std::strerror(errno));
    ::_exit(1);
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) != 0) ::_exit(WEXITSTATUS(status));
  if (WIFEXITED(status)) {
    std::fprintf(stderr, "ocifs: error: the mount's daemon stopped before the mount was ready\n");
    ::_exit(1);
  }
  std::fprintf(stderr,
               "ocifs: error: the mount's daemon was killed by signal %d before the mount "
               "was ready\n",
               WTERMSIG(status));
  ::_exit(128 + WTERMSIG(status));
}

}  // namespace

Result<Daemon> Daemon::Fork() {
  int fds[2];
  // A socket, not a pipe: the child's send cannot raise SIGPIPE if the parent is gone (killed by
  // a Ctrl-C). Close-on-exec: a program the child runs must not hold the parent's wait open.
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
    return Status(Code::kIo,
                  fmt::format("could not start the daemon: socketpair: {}", std::strerror(errno)));
  std::fflush(nullptr);  // nothing buffered is written twice
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int err = errno;
    ::close(fds[0]);
    ::close(fds[1]);
    return Status(Code::kIo,
                  fmt::format("could not start the daemon: fork: {}", std::strerror(err)));
  }
  if (pid > 0) {
    ::close(fds[1]);
    WaitForChild(pid, fds[0]);
  }
  ::close(fds[0]);
  // Until it detaches, the child goes with its parent: a parent killed by itself (`timeout`, a
  // supervisor's SIGKILL) must not leave a mount behind that its caller was told failed.
  const pid_t parent = ::getppid();
  if (::prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || ::getppid() != parent) ::_exit(1);
  return Daemon(fds[1]);
}

Daemon::Daemon(Daemon&& other) noexcept : parent_fd_(std::exchange(other.parent_fd_, -1)) {}

Daemon::~Daemon() {
  // Not detached: the child is exiting, and the parent, seeing the socket close, waits for it.
  if (parent_fd_ >= 0) ::close(parent_fd_);
}

Status Daemon::Detach() {
  if (parent_fd_ < 0) return Status::Ok();
  if (::setsid() < 0)
    return Status(Code::kIo, fmt::format("could not detach: setsid: {}", std::strerror(errno)));
  if (::chdir("/") != 0)
    return Status(Code::kIo, fmt::format("could not detach: chdir /: {}", std::strerror(errno)));
  const int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null < 0) {
    return Status(Code::kIo,
                  fmt::format("could not detach: open /dev/null: {}", std::strerror(errno)));
  }
  std::fflush(nullptr);
  for (int fd : {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO}) ::dup2(null, fd);
  ::close(null);
  (void)::prctl(PR_SET_PDEATHSIG, 0);  // the parent exits now
  const char ready = 1;
  // The parent may be gone (a Ctrl-C as the mount came up): nothing to tell, nothing to fail.
  (void)::send(parent_fd_, &ready, 1, MSG_NOSIGNAL);
  ::close(parent_fd_);
  parent_fd_ = -1;
  return Status::Ok();
}

}  // namespace ocifs::vfs
