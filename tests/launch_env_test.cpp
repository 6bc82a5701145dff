// Launcher detection (plain, mpirun, srun, PMI) from a faked environment, and TP placement.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "harness/backend/launch_env.hpp"
#include "harness/common/error.hpp"

namespace tpbench {
namespace {

using Env = std::map<std::string, std::string>;

EnvLookup fake(const Env& vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

// The UsageError message of detect_launch, or "" when it does not throw one.
std::string usage_error(const Env& vars, int gpus) {
  try {
    detect_launch(fake(vars), gpus);
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

TEST(LaunchEnv, PlainWhenNoLauncherVariables) {
  const LaunchEnv e = detect_launch(fake({{"PATH", "/usr/bin"}, {"CUDA_VISIBLE_DEVICES", "0,1"}}), 8);
  EXPECT_EQ(e.mode, LaunchMode::Plain);
  EXPECT_FALSE(e.multi_process());
  EXPECT_EQ(e.world_rank, 0);
  EXPECT_EQ(e.world_size, 1);
  EXPECT_EQ(e.device, -1);  // all GPUs, one thread each
}

TEST(LaunchEnv, Mpirun) {
  const LaunchEnv e = detect_launch(fake({{"OMPI_COMM_WORLD_RANK", "5"}, {"OMPI_COMM_WORLD_SIZE", "8"},
                                          {"OMPI_COMM_WORLD_LOCAL_RANK", "5"}}),
                                    8);
  EXPECT_EQ(e.mode, LaunchMode::Mpirun);
  EXPECT_TRUE(e.multi_process());
  EXPECT_EQ(e.world_rank, 5);
  EXPECT_EQ(e.world_size, 8);
  EXPECT_EQ(e.local_rank, 5);
  EXPECT_EQ(e.device, 5);
}

TEST(LaunchEnv, MpirunTwoNodesUsesLocalRank) {
  const LaunchEnv e = detect_launch(fake({{"OMPI_COMM_WORLD_RANK", "11"}, {"OMPI_COMM_WORLD_SIZE", "16"},
                                          {"OMPI_COMM_WORLD_LOCAL_RANK", "3"}}),
                                    8);
  EXPECT_EQ(e.world_rank, 11);
  EXPECT_EQ(e.device, 3);
}

TEST(LaunchEnv, SrunInsideAStep) {
  const LaunchEnv e = detect_launch(fake({{"SLURM_PROCID", "2"}, {"SLURM_NTASKS", "16"}, {"SLURM_STEP_NUM_TASKS", "4"},
                                          {"SLURM_LOCALID", "2"}, {"SLURM_STEP_ID", "0"}}),
                                    4);
  EXPECT_EQ(e.mode, LaunchMode::Srun);
  EXPECT_EQ(e.world_rank, 2);
  EXPECT_EQ(e.world_size, 4);  // the step's tasks, not the job's
  EXPECT_EQ(e.device, 2);
}

TEST(LaunchEnv, OneProcessLaunchIsNotMultiProcess) {
  // srun -n 1 / mpirun -np 1: the launcher is recorded, but the process drives its GPUs itself
  // (an MPI-less build must not refuse it, --emulate-tp must not be refused under it).
  const LaunchEnv s = detect_launch(fake({{"SLURM_PROCID", "0"}, {"SLURM_STEP_NUM_TASKS", "1"},
                                          {"SLURM_LOCALID", "0"}, {"SLURM_STEP_ID", "0"}}),
                                    8);
  EXPECT_EQ(s.mode, LaunchMode::Srun);
  EXPECT_FALSE(s.multi_process());
  const LaunchEnv m = detect_launch(fake({{"OMPI_COMM_WORLD_RANK", "0"}, {"OMPI_COMM_WORLD_SIZE", "1"},
                                          {"OMPI_COMM_WORLD_LOCAL_RANK", "0"}}),
                                    1);
  EXPECT_EQ(m.mode, LaunchMode::Mpirun);
  EXPECT_FALSE(m.multi_process());
  const TpPlacement p = place_tp_group(m, 4);  // TP ranks are threads of this one process
  EXPECT_EQ(p.groups, 1);
  EXPECT_EQ(p.rank_in_group, -1);
}

TEST(LaunchEnv, SrunFallsBackToNtasks) {
  const LaunchEnv e = detect_launch(
      fake({{"SLURM_PROCID", "1"}, {"SLURM_NTASKS", "2"}, {"SLURM_LOCALID", "1"}, {"SLURM_STEPID", "3"}}), 2);
  EXPECT_EQ(e.mode, LaunchMode::Srun);
  EXPECT_EQ(e.world_size, 2);
}

TEST(LaunchEnv, SbatchScriptWithoutAStepIsPlain) {
  // The batch shell has SLURM_PROCID=0 and SLURM_NTASKS=8 but is no step of 8 processes.
  const LaunchEnv e = detect_launch(fake({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "8"}, {"SLURM_LOCALID", "0"},
                                          {"SLURM_JOB_ID", "42"}}),
                                    8);
  EXPECT_EQ(e.mode, LaunchMode::Plain);
}

TEST(LaunchEnv, SrunBindingOneGpuPerTask) {
  // srun --gpus-per-task=1: every task sees one GPU, renumbered 0.
  const LaunchEnv e = detect_launch(fake({{"SLURM_PROCID", "3"}, {"SLURM_NTASKS", "4"}, {"SLURM_LOCALID", "3"},
                                          {"SLURM_STEP_ID", "0"}, {"CUDA_VISIBLE_DEVICES", "3"}}),
                                    1);
  EXPECT_EQ(e.local_rank, 3);
  EXPECT_EQ(e.device, 0);
}

TEST(LaunchEnv, Pmi) {
  const LaunchEnv e = detect_launch(fake({{"PMI_RANK", "1"}, {"PMI_SIZE", "4"}, {"MPI_LOCALRANKID", "1"}}), 4);
  EXPECT_EQ(e.mode, LaunchMode::Pmi);
  EXPECT_EQ(e.world_rank, 1);
  EXPECT_EQ(e.world_size, 4);
  EXPECT_EQ(e.device, 1);
}

TEST(LaunchEnv, PmiWithoutLocalRankOnOneNode) {
  const LaunchEnv e = detect_launch(fake({{"PMI_RANK", "3"}, {"PMI_SIZE", "4"}}), 8);
  EXPECT_EQ(e.local_rank, 3);
  EXPECT_EQ(e.device, 3);
  EXPECT_NE(usage_error({{"PMI_RANK", "3"}, {"PMI_SIZE", "16"}}, 8).find("cannot tell which GPU"), std::string::npos);
}

TEST(LaunchEnv, OpenMpiWinsOverInheritedSlurmVariables) {
  const LaunchEnv e = detect_launch(fake({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "1"}, {"SLURM_LOCALID", "0"},
                                          {"SLURM_STEP_ID", "0"}, {"OMPI_COMM_WORLD_RANK", "1"},
                                          {"OMPI_COMM_WORLD_SIZE", "2"}, {"OMPI_COMM_WORLD_LOCAL_RANK", "1"}}),
                                    2);
  EXPECT_EQ(e.mode, LaunchMode::Mpirun);
  EXPECT_EQ(e.world_rank, 1);
}

TEST(LaunchEnv, MalformedValuesAreOneLineUsageErrors) {
  const Env base = {{"OMPI_COMM_WORLD_RANK", "1"}, {"OMPI_COMM_WORLD_SIZE", "2"}, {"OMPI_COMM_WORLD_LOCAL_RANK", "1"}};
  for (const char* bad : {"abc", "", "-1", "1x", " 1", "99999999999"}) {
    Env env = base;
    env["OMPI_COMM_WORLD_RANK"] = bad;
    const std::string msg = usage_error(env, 2);
    EXPECT_NE(msg.find("OMPI_COMM_WORLD_RANK='" + std::string(bad) + "' is not a non-negative integer"),
              std::string::npos)
        << "value '" << bad << "': " << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos);
  }
}

TEST(LaunchEnv, InconsistentValues) {
  EXPECT_NE(usage_error({{"OMPI_COMM_WORLD_RANK", "2"}, {"OMPI_COMM_WORLD_SIZE", "2"},
                         {"OMPI_COMM_WORLD_LOCAL_RANK", "0"}}, 8)
                .find("OMPI_COMM_WORLD_RANK=2 is not below OMPI_COMM_WORLD_SIZE=2"),
            std::string::npos);
  EXPECT_NE(usage_error({{"PMI_RANK", "0"}, {"PMI_SIZE", "0"}}, 8).find("PMI_SIZE=0"), std::string::npos);
  EXPECT_NE(usage_error({{"OMPI_COMM_WORLD_RANK", "0"}}, 8).find("OMPI_COMM_WORLD_SIZE is not set"),
            std::string::npos);
  EXPECT_NE(usage_error({{"SLURM_PROCID", "0"}, {"SLURM_STEP_ID", "0"}, {"SLURM_LOCALID", "0"}}, 8)
                .find("SLURM_STEP_NUM_TASKS is not set"),
            std::string::npos);
  EXPECT_NE(usage_error({{"SLURM_PROCID", "0"}, {"SLURM_STEP_ID", "0"}, {"SLURM_NTASKS", "2"}}, 8)
                .find("SLURM_LOCALID is not set"),
            std::string::npos);
}

TEST(LaunchEnv, LocalRankWithoutAGpu) {
  const Env env = {{"OMPI_COMM_WORLD_RANK", "4"}, {"OMPI_COMM_WORLD_SIZE", "8"}, {"OMPI_COMM_WORLD_LOCAL_RANK", "4"}};
  EXPECT_NE(usage_error(env, 4).find("local rank 4 but this node shows 4 GPUs"), std::string::npos);
  // One visible GPU without a per-process binding is not a binding: still an error.
  EXPECT_NE(usage_error(env, 1).find("shows 1 GPU "), std::string::npos);
}

TEST(LaunchEnv, NoGpuIsUnavailable) {
  EXPECT_THROW(detect_launch(fake({}), 0), UnavailableError);
}

TEST(LaunchEnv, TpPlacement) {
  LaunchEnv plain;
  const TpPlacement pp = place_tp_group(plain, 8);
  EXPECT_EQ(pp.groups, 1);
  EXPECT_EQ(pp.rank_in_group, -1);

  LaunchEnv mpi;
  mpi.mode = LaunchMode::Mpirun;
  mpi.world_size = 8;
  mpi.world_rank = 6;
  const TpPlacement p = place_tp_group(mpi, 4);
  EXPECT_EQ(p.groups, 2);
  EXPECT_EQ(p.group, 1);
  EXPECT_EQ(p.rank_in_group, 2);
  EXPECT_EQ(place_tp_group(mpi, 8).rank_in_group, 6);
  EXPECT_EQ(place_tp_group(mpi, 1).groups, 8);
}

TEST(LaunchEnv, TpPlacementErrors) {
  LaunchEnv mpi;
  mpi.mode = LaunchMode::Srun;
  mpi.world_size = 4;
  auto msg = [&](int tp) {
    try {
      place_tp_group(mpi, tp);
    } catch (const UsageError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_EQ(msg(8), "--tp 8 needs 8 processes (one per GPU) but srun started 4");
  EXPECT_EQ(msg(3), "--tp 3 does not divide the 4 processes started by srun");
  EXPECT_EQ(msg(0), "--tp must be >= 1, got 0");
}

TEST(LaunchEnv, ModeNames) {
  EXPECT_STREQ(launch_mode_name(LaunchMode::Plain), "plain");
  EXPECT_STREQ(launch_mode_name(LaunchMode::Mpirun), "mpirun");
  EXPECT_STREQ(launch_mode_name(LaunchMode::Srun), "srun");
  EXPECT_STREQ(launch_mode_name(LaunchMode::Pmi), "pmi");
}

}  // namespace
}  // namespace tpbench
