// Running a program and collecting what it prints, header-only, for the host and for plugins
// (which see only the SDK): one implementation of the rules a child process of ocifs needs.
//
//   RunProcess(argv, options)   posix_spawnp: argv[0] looked up in PATH; `input` written to its
//                               stdin (else /dev/null); stdout, and stderr unless discarded,
//                               read as they come, each up to `max_output` bytes.
//
// The child starts with no signal blocked and SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGPIPE, SIGUSR1,
// SIGUSR2 and SIGCHLD at their defaults, whatever the calling thread blocks or ignores (a mount's
// threads block SIGTERM: a child that inherited that could never be stopped). A child that exits
// before reading its input does not kill the caller with SIGPIPE. `stop`, when set, is asked
// every 100 ms; when it says so the child gets SIGTERM, then SIGKILL after `kill_after` (and is not
// waited for past that, whatever it started holds its output open).
//
// Thread safety: RunProcess may run on several threads at once.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <vector>

extern char** environ;

namespace ocifs::sdk {

struct RunOptions {
  std::optional<std::string> input;  // written to stdin, then closed; unset: stdin is /dev/null
  bool discard_stderr = false;       // stderr to /dev/null instead of RunResult::err
  size_t max_output = 16u << 20;     // per stream; more is read and dropped
  std::function<bool()> stop;        // asked every 100 ms; true: stop the child
  std::chrono::milliseconds kill_after{5000};
};

struct RunResult {
  int spawn_error = 0;   // errno of a program that could not be started (ENOENT: not on PATH)
  int exit = -1;         // its exit status; -1 when it was not started, was killed or stopped
  bool stopped = false;  // `stop` said so
  std::string out, err;
};

inline RunResult RunProcess(const std::vector<std::string>& argv, const RunOptions& options = {}) {
  RunResult r;
  if (argv.empty()) {
    r.spawn_error = EINVAL;
    return r;
  }
  int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
  auto close_all = [&] {
    for (int* p : {in, out, err}) {
      for (int i = 0; i < 2; ++i) {
        if (p[i] >= 0) ::close(p[i]);
        p[i] = -1;
      }
    }
  };
  if ((options.input && ::pipe2(in, O_CLOEXEC) != 0) || ::pipe2(out, O_CLOEXEC) != 0 ||
      (!options.discard_stderr && ::pipe2(err, O_CLOEXEC) != 0)) {
    r.spawn_error = errno;
    close_all();
    return r;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (options.input) {
    posix_spawn_file_actions_adddup2(&actions, in[0], 0);
  } else {
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  }
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  if (options.discard_stderr) {
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  } else {
    posix_spawn_file_actions_adddup2(&actions, err[1], 2);
  }
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGPIPE, SIGUSR1, SIGUSR2, SIGCHLD})
    sigaddset(&defaults, sig);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, args[0], &actions, &attr, args.data(), environ);
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&actions);
  for (int* p : {&in[0], &out[1], &err[1]}) {
    if (*p >= 0) ::close(*p);
    *p = -1;
  }
  if (rc != 0) {
    r.spawn_error = rc;
    close_all();
    return r;
  }

  // The input is written as the child takes it (never blocking: it may be writing its output).
  if (in[1] >= 0) ::fcntl(in[1], F_SETFL, O_NONBLOCK);
  // SIGPIPE blocked on this thread while the input is written (a child that exits without
  // reading it must not kill the caller); one raised meanwhile is taken off before unblocking.
  sigset_t pipe_set, old;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  if (options.input) pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
  size_t written = 0;
  using Clock = std::chrono::steady_clock;
  std::optional<Clock::time_point> terminated;
  bool killed = false, reaped = false;
  int status = 0;
  pollfd fds[3] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}, {in[1], POLLOUT, 0}};
  if (options.input && options.input->empty()) {
    ::close(in[1]);
    in[1] = fds[2].fd = -1;
  }
  auto open_reads = [&] { return (fds[0].fd >= 0) + (fds[1].fd >= 0); };
  while (open_reads() > 0) {
    if (::poll(fds, 3, 100) < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      pollfd& f = fds[i];
      if (f.fd < 0 || !(f.revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[4096];
      ssize_t n = ::read(f.fd, buf, sizeof buf);
      if (n > 0) {
        std::string& to = i == 0 ? r.out : r.err;
        if (to.size() < options.max_output)
          to.append(buf, std::min(static_cast<size_t>(n), options.max_output - to.size()));
      } else if (n == 0 || errno != EINTR) {
        ::close(f.fd);
        f.fd = -1;
      }
    }
    if (fds[2].fd >= 0 && (fds[2].revents & (POLLOUT | POLLERR | POLLHUP))) {
      ssize_t n =
          ::write(fds[2].fd, options.input->data() + written, options.input->size() - written);
      if (n > 0) written += static_cast<size_t>(n);
      if ((n < 0 && errno != EINTR && errno != EAGAIN) || written == options.input->size()) {
        ::close(fds[2].fd);
        in[1] = fds[2].fd = -1;
      }
    }
    if (options.stop && !terminated && options.stop()) {
      ::kill(pid, SIGTERM);
      terminated = Clock::now();
      r.stopped = true;
    }
    if (terminated && !killed && Clock::now() - *terminated > options.kill_after) {
      ::kill(pid, SIGKILL);
      killed = true;
    }
    // Killed, it is gone, even if a process it started still holds its output open.
    if (killed && ::waitpid(pid, &status, WNOHANG) == pid) {
      reaped = true;
      break;
    }
  }
  for (const pollfd& f : fds) {
    if (f.fd >= 0) ::close(f.fd);
  }
  while (!reaped && ::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (options.input) {
    struct timespec zero = {0, 0};
    while (sigtimedwait(&pipe_set, nullptr, &zero) > 0) {
    }
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
  }
  r.exit = WIFEXITED(status) && !terminated ? WEXITSTATUS(status) : -1;
  return r;
}

}  // namespace ocifs::sdk
