#pragma once
// Eigen-decomposition of a small symmetric matrix (cyclic Jacobi rotations): enough for the fit's
// identifiability analysis (at most four parameters), without a linear-algebra dependency.
#include <vector>

namespace tpbench {

struct SymmetricEigen {
  std::vector<double> values;                // descending
  std::vector<std::vector<double>> vectors;  // vectors[i] is the unit eigenvector of values[i]
};

// `a` must be square and symmetric (only its upper triangle is read).
SymmetricEigen symmetric_eigen(std::vector<std::vector<double>> a);

}  // namespace tpbench
