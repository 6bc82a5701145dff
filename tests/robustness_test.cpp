// The atomic writer, the output lock and stop requests, each against what a hostile or unlucky
// environment does: a link planted where the temporary file goes, a private file rewritten, a
// full disk, a second writer, a signal in the middle of a step.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "harness/backend/cpu_backend.hpp"
#include "harness/common/error.hpp"
#include "harness/common/interrupt.hpp"
#include "harness/common/text.hpp"
#include "harness/io/atomic_file.hpp"
#include "harness/plan/plan.hpp"

using namespace tpbench;
namespace fs = std::filesystem;

namespace {

fs::path scratch_dir() {
  char name[] = "/tmp/tpbench_robust_XXXXXX";
  return fs::path(mkdtemp(name));
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

mode_t mode_of(const fs::path& p) {
  struct stat st {};
  ::stat(p.c_str(), &st);
  return st.st_mode & 07777;
}

size_t entries(const fs::path& dir) {
  return size_t(std::distance(fs::directory_iterator(dir), fs::directory_iterator{}));
}

}  // namespace

TEST(AtomicWriter, DoesNotFollowALinkPlantedAtTheTemporaryName) {
  const fs::path dir = scratch_dir();
  const fs::path victim = dir / "victim", out = dir / "out.json";
  std::ofstream(victim) << "precious";
  // The name a writer that appends its process id would use.
  fs::create_symlink(victim, dir / ("out.json.tmp." + std::to_string(::getpid())));
  write_file_atomic(out.string(), "{}\n");
  EXPECT_EQ(slurp(victim), "precious");
  EXPECT_EQ(slurp(out), "{}\n");
  fs::remove_all(dir);
}

TEST(AtomicWriter, KeepsTheModeOfTheFileItReplaces) {
  const fs::path dir = scratch_dir();
  const fs::path out = dir / "private.json";
  std::ofstream(out) << "old";
  fs::permissions(out, fs::perms::owner_read | fs::perms::owner_write);
  write_file_atomic(out.string(), "new");
  EXPECT_EQ(mode_of(out), mode_t(0600));
  const mode_t old_mask = ::umask(022);
  write_file_atomic((dir / "fresh.json").string(), "x");  // a new file: 0666 less the umask
  ::umask(old_mask);
  EXPECT_EQ(mode_of(dir / "fresh.json"), mode_t(0644));
  fs::remove_all(dir);
}

TEST(AtomicWriter, AFailedWriteKeepsThePreviousDocumentAndLeavesNothing) {
  const fs::path dir = scratch_dir();
  const fs::path out = dir / "doc.json";
  write_file_atomic(out.string(), "complete\n");
  // A file-size limit stands in for a full disk: write(2) fails with EFBIG once SIGXFSZ is ignored.
  struct rlimit old {};
  ::getrlimit(RLIMIT_FSIZE, &old);
  const auto old_handler = ::signal(SIGXFSZ, SIG_IGN);
  struct rlimit small = old;
  small.rlim_cur = 4096;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  EXPECT_THROW(write_file_atomic(out.string(), std::string(100000, 'x')), UsageError);
  ::setrlimit(RLIMIT_FSIZE, &old);
  ::signal(SIGXFSZ, old_handler);
  EXPECT_EQ(slurp(out), "complete\n");
  EXPECT_EQ(entries(dir), 1u);  // no temporary file left
  fs::remove_all(dir);
}

TEST(AtomicWriter, StandardOutputAndEmptyPathsAreRefused) {
  EXPECT_THROW(check_writable("-"), UsageError);
  EXPECT_THROW(check_writable(""), UsageError);
}

TEST(OutputLock, ASecondWriterIsRefusedUntilTheFirstIsDone) {
  const fs::path dir = scratch_dir();
  const std::string out = (dir / "sweep.json").string();
  std::ofstream(out + ".lock") << "";  // left by a killed run: its lock died with it
  {
    OutputLock first(out);
    EXPECT_THROW(OutputLock second(out), UsageError);  // flock conflicts across open files
  }
  EXPECT_EQ(entries(dir), 0u);  // the lock file goes with the lock
  EXPECT_NO_THROW(OutputLock again(out));
  fs::remove_all(dir);
}

TEST(Text, Utf8AndControlCharacters) {
  EXPECT_TRUE(is_valid_utf8("caf\xc3\xa9.json"));
  EXPECT_FALSE(is_valid_utf8("\xff.json"));
  EXPECT_TRUE(has_control_characters("a\x1b[31mb"));
  EXPECT_FALSE(has_control_characters("plain name"));
  EXPECT_EQ(escaped("\xff.json"), "\\xff.json");
  EXPECT_EQ(escaped("a\nb"), "a\\x0ab");
}

// A stop request ends a step between its ops: with the request already made, the step does
// not run to its end (a step of the whole model would take seconds) but unwinds at once.
TEST(StopRequest, EndsAStepOfTheCpuBackendBetweenOps) {
  const ModelSpec m = preset_model("tiny");
  StepConfig c;
  c.tp = 2;
  c.batch = 2;
  c.context = 32;
  const StepProgram p = build_program(m, c);
  auto backend = make_cpu_backend({});
  InterruptGuard guard;
  backend->prepare(p);
  EXPECT_NO_THROW(backend->run(Variant::Full));
  ASSERT_EQ(::raise(SIGTERM), 0);  // handled: the test process goes on
  EXPECT_TRUE(InterruptGuard::requested());
  EXPECT_EQ(InterruptGuard::signal_number(), SIGTERM);
  EXPECT_THROW(backend->run(Variant::Full), Interrupted);
  EXPECT_THROW(backend->prepare(p), Interrupted);  // filling the buffers stops too
  backend->release();
}
