#include "ocifs/subprocess.hpp"

#include <signal.h>

#include <chrono>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace ocifs::sdk {
namespace {

RunOptions Input(std::string text) {
  RunOptions o;
  o.input = std::move(text);
  return o;
}
RunOptions DiscardStderr() {
  RunOptions o;
  o.discard_stderr = true;
  return o;
}
RunOptions MaxOutput(size_t bytes) {
  RunOptions o;
  o.max_output = bytes;
  return o;
}
RunOptions StopAtSecondAsk(int& asked, std::chrono::milliseconds kill_after) {
  RunOptions o;
  o.stop = [&asked] { return ++asked >= 2; };
  o.kill_after = kill_after;
  return o;
}

TEST(RunProcessTest, Cases) {
  const std::string big(1 << 20, 'x');  // more than a pipe holds: written while output is read
  const struct Case {
    std::string name;
    std::vector<std::string> argv;
    RunOptions options;
    int exit;
    std::string out, err;
    int spawn_error = 0;
  } cases[] = {
      {"stdout and stderr apart",
       {"sh", "-c", "echo out; echo err >&2; exit 3"},
       {},
       3,
       "out\n",
       "err\n"},
      {"stderr discarded", {"sh", "-c", "echo err >&2"}, DiscardStderr(), 0, "", ""},
      {"input on stdin", {"cat"}, Input("server.example"), 0, "server.example", ""},
      {"a big input through a pipe", {"wc", "-c"}, Input(big), 0, "1048576\n", ""},
      {"empty input is an empty stdin", {"wc", "-c"}, Input(""), 0, "0\n", ""},
      {"no input: /dev/null", {"wc", "-c"}, {}, 0, "0\n", ""},
      // Exits without reading: the caller gets no SIGPIPE (the test would die).
      {"a child that reads nothing", {"true"}, Input(big), 0, "", ""},
      {"output past the limit is dropped",
       {"sh", "-c", "echo 0123456789"},
       MaxOutput(4),
       0,
       "0123",
       ""},
      {"not on PATH", {"ocifs-no-such-program"}, {}, -1, "", "", ENOENT},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const RunResult r = RunProcess(c.argv, c.options);
    EXPECT_EQ(r.spawn_error, c.spawn_error);
    EXPECT_EQ(r.exit, c.exit);
    EXPECT_EQ(r.out, c.out);
    EXPECT_EQ(r.err, c.err);
  }
}

// The child starts with nothing blocked, whatever the caller blocks: a mount's threads block
// SIGTERM, and a helper started from one must still be stoppable.
TEST(RunProcessTest, TheChildGetsACleanSignalMask) {
  sigset_t term, old;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &term, &old), 0);
  const RunResult r = RunProcess({"sh", "-c", "grep -E '^SigBlk' /proc/self/status"});
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  EXPECT_EQ(r.out, "SigBlk:\t0000000000000000\n");
}

TEST(RunProcessTest, StopSendsTermThenKill) {
  auto start = std::chrono::steady_clock::now();
  int asked = 0;
  RunResult r = RunProcess({"sleep", "30"}, StopAtSecondAsk(asked, std::chrono::seconds(5)));
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(r.exit, -1);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));

  // One that ignores SIGTERM is killed after kill_after.
  asked = 0;
  r = RunProcess({"sh", "-c", "trap '' TERM; while :; do sleep 0.1; done"},
                 StopAtSecondAsk(asked, std::chrono::milliseconds(200)));
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(r.exit, -1);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(25));
}

}  // namespace
}  // namespace ocifs::sdk
