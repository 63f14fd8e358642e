#include "fs/daemon.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <functional>

#include <gtest/gtest.h>

namespace ocifs::vfs {
namespace {

// Runs `child` as a daemon's child, in a process of its own (the parent side of Daemon::Fork
// exits, and must not take the test with it). Returns the wait status of that parent.
int ParentStatus(const std::function<void(Daemon&)>& child) {
  const pid_t parent = ::fork();
  if (parent == 0) {
    auto daemon = Daemon::Fork();  // returns in the child only
    if (!daemon.ok()) ::_exit(99);
    child(*daemon);
    ::_exit(98);
  }
  int status = -1;
  EXPECT_EQ(::waitpid(parent, &status, 0), parent);
  return status;
}

TEST(DaemonTest, ParentExitsWithWhatTheChildDid) {
  struct Case {
    const char* what;
    std::function<void(Daemon&)> child;
    int code;  // the parent's exit code
  };
  const Case cases[] = {
      {"detached, then exits 5", [](Daemon& d) { ::_exit(d.Detach().ok() ? 5 : 6); }, 0},
      {"fails before detaching", [](Daemon&) { ::_exit(3); }, 3},
      {"exits 0 without detaching", [](Daemon&) { ::_exit(0); }, 1},
      {"killed before detaching", [](Daemon&) { ::raise(SIGKILL); }, 128 + SIGKILL},
      {"detaches twice", [](Daemon& d) { ::_exit(d.Detach().ok() && d.Detach().ok() ? 0 : 7); }, 0},
  };
  for (const Case& c : cases) {
    const int status = ParentStatus(c.child);
    ASSERT_TRUE(WIFEXITED(status)) << c.what;
    EXPECT_EQ(WEXITSTATUS(status), c.code) << c.what;
  }
}

// The parent returns while the detached child goes on, in a session of its own, with its
// standard streams on /dev/null.
TEST(DaemonTest, DetachedChildOutlivesTheParent) {
  int report[2], release[2];
  ASSERT_EQ(::pipe(report), 0);
  ASSERT_EQ(::pipe(release), 0);
  const int status = ParentStatus([&](Daemon& d) {
    if (!d.Detach().ok()) ::_exit(1);
    char line[64];
    const bool own_session = ::getsid(0) == ::getpid();
    const bool null_stdout = ::readlink("/proc/self/fd/1", line, sizeof line) == 9 &&
                             std::string_view(line, 9) == "/dev/null";
    const char verdict = own_session && null_stdout ? 'y' : 'n';
    (void)!::write(report[1], &verdict, 1);
    // Waits until the test saw the parent exit, or 10 s: were the parent still waiting for a
    // child that never detached, it then exits 1 and the test fails instead of hanging.
    struct pollfd go = {.fd = release[0], .events = POLLIN, .revents = 0};
    (void)::poll(&go, 1, 10'000);
    ::_exit(0);
  });
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  char verdict = 0;
  ASSERT_EQ(::read(report[0], &verdict, 1), 1);
  EXPECT_EQ(verdict, 'y') << "the child is not in its own session or its stdout is not /dev/null";
  ASSERT_EQ(::write(release[1], "x", 1), 1);
  for (int fd : {report[0], report[1], release[0], release[1]}) ::close(fd);
}

// A parent killed before the child detached takes the child with it (SIGTERM).
TEST(DaemonTest, ChildGoesWithAParentKilledFirst) {
  int report[2];
  ASSERT_EQ(::pipe(report), 0);
  const pid_t parent = ::fork();
  if (parent == 0) {
    auto daemon = Daemon::Fork();
    if (!daemon.ok()) ::_exit(99);
    static int report_fd = report[1];
    std::signal(SIGTERM, [](int) {
      (void)!::write(report_fd, "T", 1);
      ::_exit(0);
    });
    (void)!::write(report[1], "R", 1);  // ready: the handler is in place
    ::sleep(20);                        // bounded: a child that does not hear of it must not linger
    ::_exit(2);
  }
  ::close(report[1]);
  char c = 0;
  ASSERT_EQ(::read(report[0], &c, 1), 1);
  ASSERT_EQ(c, 'R');
  ::kill(parent, SIGKILL);
  int status = 0;
  ASSERT_EQ(::waitpid(parent, &status, 0), parent);
  struct pollfd told = {.fd = report[0], .events = POLLIN, .revents = 0};
  ASSERT_EQ(::poll(&told, 1, 10'000), 1) << "the child did not hear of its parent's death";
  ASSERT_EQ(::read(report[0], &c, 1), 1);
  EXPECT_EQ(c, 'T');
  ::close(report[0]);
}

}  // namespace
}  // namespace ocifs::vfs
