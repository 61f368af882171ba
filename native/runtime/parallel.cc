#include "runtime/parallel.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>
#ifdef GA_HAVE_OPENMP
#include <omp.h>
#endif

namespace ga {
namespace {
std::mutex g_mu;
std::condition_variable g_cv;
int g_budget = 0;   // 0 = not yet initialised
int g_in_use = 0;

int budget_locked() {
  if (g_budget <= 0) g_budget = hardware_threads();
  return g_budget;
}
}  // namespace

int hardware_threads() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

int thread_budget() {
  std::lock_guard<std::mutex> lk(g_mu);
  return budget_locked();
}

void set_thread_budget(int n) {
  std::lock_guard<std::mutex> lk(g_mu);
  g_budget = n < 1 ? hardware_threads() : n;
  g_cv.notify_all();
}

bool have_openmp() {
#ifdef GA_HAVE_OPENMP
  return true;
#else
  return false;
#endif
}

ThreadLease::ThreadLease(int want) {
  std::unique_lock<std::mutex> lk(g_mu);
  int budget = budget_locked();
  if (want < 1 || want > budget) want = budget;
  // Wait until at least one thread is free; then take what is free, up to want.
  // An aborted call stops waiting (the abort does not notify g_cv: poll it).
  while (!g_cv.wait_for(lk, std::chrono::milliseconds(5), [&] { return g_in_use < budget_locked(); }))
    if (cancel_requested()) throw Cancelled();
  n_ = std::max(1, std::min(want, budget_locked() - g_in_use));
  g_in_use += n_;
}

ThreadLease::~ThreadLease() {
  std::lock_guard<std::mutex> lk(g_mu);
  g_in_use -= n_;
  g_cv.notify_all();
}

void parallel_items(int64_t n_items, int threads, const std::function<void(int, ItemCounter&)>& body) {
  if (n_items <= 0) return;
  int t = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(threads, n_items)));
  ItemCounter counter(n_items);
  if (t == 1) {
    body(0, counter);
    throw_if_cancelled();
    return;
  }
  const CancelToken* token = current_cancel_token();
  // Exceptions must not cross a thread boundary: capture the first and rethrow here.
  std::exception_ptr err;
  std::mutex err_mu;
  auto guarded = [&](int tid) {
    CancelScope scope(token);  // kernels poll cancel_requested() in every thread
    try {
      body(tid, counter);
    } catch (...) {
      std::lock_guard<std::mutex> lk(err_mu);
      if (!err) err = std::current_exception();
    }
  };
#ifdef GA_HAVE_OPENMP
#pragma omp parallel num_threads(t)
  { guarded(omp_get_thread_num()); }
#else
  std::vector<std::thread> pool;
  pool.reserve(t - 1);
  for (int i = 1; i < t; ++i) pool.emplace_back(guarded, i);
  guarded(0);
  for (auto& th : pool) th.join();
#endif
  if (err) std::rethrow_exception(err);
  throw_if_cancelled();
}

}  // namespace ga
