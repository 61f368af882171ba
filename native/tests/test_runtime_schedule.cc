// What the query-block kernels use to order their work: ItemCounter::next_run (runtime/parallel.h),
// runs of consecutive items handed out guided, and PrefetchQueue (kernels/prefetch.h), the rows a
// block requests a line at a time while it computes.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <vector>

#include "kernels/prefetch.h"
#include "runtime/parallel.h"
#include "tests/test_util.h"

namespace {

// Runs cover [0, n) exactly once, each 1..max_run long, and shrink towards the end (guided).
void check_runs(int64_t n, int threads, int64_t max_run) {
  std::vector<std::atomic<int>> seen(static_cast<size_t>(n));
  for (auto& s : seen) s = 0;
  std::atomic<int64_t> bad_len{0}, runs{0}, last_len{-1};
  std::atomic<int64_t> longest{0};
  ga::parallel_items(n, threads, [&](int, ga::ItemCounter& items) {
    int64_t first, count;
    while (items.next_run(max_run, first, count, threads)) {
      if (count < 1 || count > max_run || first < 0 || first + count > n) ++bad_len;
      for (int64_t i = first; i < first + count && i < n; ++i) ++seen[static_cast<size_t>(i)];
      ++runs;
      if (first + count == n) last_len = count;
      int64_t l = longest.load();
      while (count > l && !longest.compare_exchange_weak(l, count)) {
      }
    }
  });
  int64_t missing = 0, twice = 0;
  for (auto& s : seen) missing += s == 0, twice += s > 1;
  CHECK_MSG(missing == 0 && twice == 0, "n=%lld threads=%d max_run=%lld: %lld items missing, %lld twice", (long long)n,
            threads, (long long)max_run, (long long)missing, (long long)twice);
  CHECK_MSG(bad_len == 0, "n=%lld: %lld runs outside [1, max_run] or [0, n)", (long long)n, (long long)bad_len.load());
  if (n > 0) {
    // One thread: the last run is a single item (guided; with more threads a run may be cut short
    // by another thread's take, so its length is not fixed).
    if (threads == 1) CHECK_MSG(last_len == 1, "n=%lld: last run %lld items", (long long)n, (long long)last_len.load());
    // The first run is about n / (2 * threads), capped.
    const int64_t first_want = std::min<int64_t>(max_run, std::max<int64_t>(1, n / (2 * threads)));
    CHECK_MSG(longest <= first_want, "n=%lld: a run of %lld > %lld", (long long)n, (long long)longest.load(),
              (long long)first_want);
    if (max_run == 1) CHECK(runs == n);
  }
}

}  // namespace

GA_TEST(item_counter_runs_cover_every_item_once) {
  for (int threads : {1, 2, 3, 8})
    for (int64_t n : {0, 1, 2, 5, 31, 96, 171, 1368, 10007})
      for (int64_t max_run : {1, 2, 32, 1000}) check_runs(n, threads, max_run);
}

GA_TEST(item_counter_next_is_a_run_of_one) {
  ga::ItemCounter c(5);
  int64_t i, first, count;
  CHECK(c.next(i) && i == 0);
  CHECK(c.next_run(100, first, count, 1) && first == 1 && count == 2);  // 4 left: 4 / 2
  CHECK(c.next(i) && i == 3);
  CHECK(c.next_run(100, first, count, 1) && first == 4 && count == 1);
  CHECK(!c.next(i));
  CHECK(!c.next_run(100, first, count, 1));
}

GA_TEST(prefetch_queue_visits_every_line_of_its_rows_in_order) {
  constexpr int64_t L = ga::PrefetchQueue::kLineBytes;
  alignas(64) static char a[4096], b[4096];
  const auto line_of = [&](const char* p) { return p - reinterpret_cast<uintptr_t>(p) % L; };
  ga::PrefetchQueue q;
  CHECK(q.empty());
  CHECK(q.issue_one() == nullptr);
  // 3 rows of 100 bytes, 300 apart, starting 16 bytes into a line (as a JavaScript array's data
  // usually does): every line holding one of a row's bytes, in order, each once per row.
  q.add(a + 16, 300, 3, 100);
  q.add(b, 64, 2, 64);        // 2 rows of exactly one line each
  q.add(nullptr, 64, 5, 64);  // ignored
  q.add(b + 100, 64, 0, 64);  // empty: ignored
  q.add(b + 200, 64, 1, 0);   // empty: ignored
  std::vector<const void*> want;
  for (int r = 0; r < 3; ++r) {
    const char* row = a + 16 + r * 300;
    for (const char* l = line_of(row); l < row + 100; l += L) want.push_back(l);
  }
  want.push_back(b);
  want.push_back(b + 64);
  CHECK(want.size() == 2 + 3 + 3 + 2);  // rows at bytes 16, 316 and 616 span 2, 3 and 3 lines
  std::vector<const void*> got;
  while (const void* p = q.issue_one()) got.push_back(p);
  CHECK_MSG(got == want, "got %zu lines, want %zu", got.size(), want.size());
  CHECK(q.empty());
  // A range added after the queue ran dry is served.
  q.add(a + 64, 64, 1, 1);
  CHECK(!q.empty() && q.issue_one() == a + 64 && q.issue_one() == nullptr);
  // At most kMaxRanges ranges; later ones are ignored.
  ga::PrefetchQueue full;
  for (int i = 0; i < ga::PrefetchQueue::kMaxRanges + 2; ++i) full.add(a + i * L, L, 1, 1);
  int lines = 0;
  while (full.issue_one() != nullptr) ++lines;
  CHECK(lines == ga::PrefetchQueue::kMaxRanges);
}
