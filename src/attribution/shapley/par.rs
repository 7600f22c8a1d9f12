//! Work split over a few threads (`std::thread::scope`) with results that do not
//! depend on the number of threads: contiguous runs of the input, put back together
//! in order.

use std::cmp::Ordering;

/// Resumes a helper thread's panic on the caller: a panic there is a bug and
/// propagates as the panic it is.
fn joined<R>(h: std::thread::ScopedJoinHandle<'_, R>) -> R {
    h.join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// The length of each of up to `threads` contiguous runs of `len` items.
fn run_length(len: usize, threads: usize) -> usize {
    len.div_ceil(threads.clamp(1, len.max(1))).max(1)
}

/// `f` of each of `items`, in order, computed on up to `threads` threads.
pub(super) fn map_on<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let per = run_length(items.len(), threads);
    if per >= items.len() {
        return items.iter().map(f).collect();
    }
    let f = &f;
    std::thread::scope(|scope| {
        let mut runs = items.chunks(per);
        let first = runs.next().unwrap_or_default();
        let helpers: Vec<_> = runs
            .map(|run| scope.spawn(move || run.iter().map(f).collect::<Vec<R>>()))
            .collect();
        let mut out: Vec<R> = first.iter().map(f).collect();
        for h in helpers {
            out.extend(joined(h));
        }
        out
    })
}

/// Runs `f(index of the run's first item, run)` on each of up to `threads`
/// contiguous runs of `items`, each on its own thread.
pub(super) fn for_runs_on<T: Send>(
    items: &mut [T],
    threads: usize,
    f: impl Fn(usize, &mut [T]) + Sync,
) {
    let per = run_length(items.len(), threads);
    if per >= items.len() {
        f(0, items);
        return;
    }
    let f = &f;
    std::thread::scope(|scope| {
        let mut runs = items.chunks_mut(per).enumerate();
        let first = runs.next();
        let helpers: Vec<_> = runs
            .map(|(i, run)| scope.spawn(move || f(i * per, run)))
            .collect();
        if let Some((_, run)) = first {
            f(0, run);
        }
        helpers.into_iter().for_each(joined);
    });
}

/// Sorts `v` by `cmp`: runs sorted on up to `threads` threads, then merged by the
/// standard stable sort (which finds the sorted runs and merges them, with a
/// buffer of half the items at most). For items of which no two compare equal,
/// the result is that of one sort, whatever the number of threads.
pub(super) fn sort_on<T: Send>(
    v: &mut [T],
    threads: usize,
    cmp: impl Fn(&T, &T) -> Ordering + Sync,
) {
    let per = run_length(v.len(), threads);
    if per >= v.len() {
        v.sort_unstable_by(&cmp);
        return;
    }
    for_runs_on(v, threads, |_, run| run.sort_unstable_by(&cmp));
    v.sort_by(&cmp);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn sort_on_is_one_sort(mut v in prop::collection::vec(any::<u32>(), 0..300), threads in 0usize..6) {
            v.sort_unstable();
            v.dedup();
            // Distinct items, shuffled deterministically.
            let mut w = v.clone();
            w.sort_unstable_by_key(|x| x.wrapping_mul(2_654_435_761));
            sort_on(&mut w, threads, |a, b| a.cmp(b));
            prop_assert_eq!(w, v);
        }

        #[test]
        fn map_on_keeps_the_order(v in prop::collection::vec(any::<u32>(), 0..300), threads in 0usize..6) {
            let want: Vec<u64> = v.iter().map(|&x| u64::from(x) * 3).collect();
            prop_assert_eq!(map_on(&v, threads, |&x| u64::from(x) * 3), want);
        }

        #[test]
        fn for_runs_on_covers_every_item_once(len in 0usize..300, threads in 0usize..6) {
            let mut v = vec![usize::MAX; len];
            for_runs_on(&mut v, threads, |first, run| {
                for (k, x) in run.iter_mut().enumerate() {
                    *x = first + k;
                }
            });
            prop_assert_eq!(v, (0..len).collect::<Vec<_>>());
        }
    }
}
