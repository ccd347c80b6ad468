//! Running jobs side by side, each in a task of its own, and answering each as it ends:
//! the scheduling under [`crate::rebuild_each`], apart so that its failure paths (a job
//! that panics, a stream dropped half-way) are tested on jobs that are easy to break.

use futures::Stream;
use std::collections::HashMap;
use std::error::Error;
use tokio::sync::mpsc::UnboundedSender;

pub type Failure = Box<dyn Error + Send + Sync>;

/// What a job sends its caller while it runs (`R`: what the job ends with).
pub struct Progress<T, P, R> {
    job: T,
    reports: UnboundedSender<Report<T, P, R>>,
}

impl<T: Copy, P, R> Progress<T, P, R> {
    pub fn report(&self, progress: P) {
        let _ = self.reports.send(Report::Progress(self.job, progress));
    }
}

enum Report<T, P, R> {
    Progress(T, P),
    Ended(T, Result<R, Failure>),
}

/// Runs `work` on each of `jobs`, `parallel` at a time (at least one) in the order given,
/// each in a task of its own so that the runtime's workers share them; yields each job
/// and its outcome as it ends. `progress(job, report)` is called by whoever polls the
/// stream with what the job reported. A job that panics ends as an error naming the
/// panic, never as a silent end of the stream. Dropping the stream aborts the jobs under
/// way and starts no other.
pub fn run_each<'a, T, R, P, W, F>(
    jobs: Vec<T>,
    parallel: usize,
    work: W,
    progress: impl Fn(T, P) + 'a,
) -> impl Stream<Item = (T, Result<R, Failure>)> + 'a
where
    T: Copy + Send + 'static,
    R: Send + 'static,
    P: Send + 'static,
    W: Fn(T, Progress<T, P, R>) -> F + Send + 'static,
    F: Future<Output = Result<R, Failure>> + Send + 'static,
{
    let (reports, received) = tokio::sync::mpsc::unbounded_channel();
    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(parallel.max(1)));
    // One task starts the jobs in order, each as a slot frees, and collects their ends:
    // a panic reaches the caller through the join, which the job itself cannot report.
    let mut driver = tokio::task::JoinSet::new();
    driver.spawn(async move {
        let mut running = tokio::task::JoinSet::new();
        let mut of_task = HashMap::new();
        let end =
            |joined: Result<(tokio::task::Id, Result<R, Failure>), tokio::task::JoinError>,
             of_task: &mut HashMap<tokio::task::Id, T>| {
                let (job, outcome) = match joined {
                    Ok((id, outcome)) => (of_task.remove(&id), outcome),
                    Err(error) => (
                        of_task.remove(&error.id()),
                        Err(format!("la tâche s'est interrompue : {}", panic_text(error)).into()),
                    ),
                };
                if let Some(job) = job {
                    let _ = reports.send(Report::Ended(job, outcome));
                }
            };
        for job in jobs {
            let slot = loop {
                tokio::select! {
                    slot = slots.clone().acquire_owned() => break slot,
                    Some(joined) = running.join_next_with_id() => end(joined, &mut of_task),
                }
            };
            let Ok(slot) = slot else { break };
            let work = work(
                job,
                Progress {
                    job,
                    reports: reports.clone(),
                },
            );
            let task = running.spawn(async move {
                let outcome = work.await;
                drop(slot);
                outcome
            });
            of_task.insert(task.id(), job);
        }
        while let Some(joined) = running.join_next_with_id().await {
            end(joined, &mut of_task);
        }
        // Dropped here, the last sender closes the channel: the stream ends after the
        // last outcome.
    });
    // The driver lives as long as the stream: dropped, it aborts the driver, whose
    // `JoinSet` aborts the jobs under way.
    futures::stream::unfold(
        (received, driver, progress),
        |(mut received, driver, progress)| async move {
            while let Some(report) = received.recv().await {
                match report {
                    Report::Progress(job, report) => progress(job, report),
                    Report::Ended(job, outcome) => {
                        return Some(((job, outcome), (received, driver, progress)));
                    }
                }
            }
            None
        },
    )
}

fn panic_text(error: tokio::task::JoinError) -> String {
    if !error.is_panic() {
        return "annulée".to_owned();
    }
    let payload = error.into_panic();
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panique".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn each_job_ends_with_its_outcome_a_panic_as_an_error_of_its_own() {
        let (running, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let reported = std::sync::Mutex::new(Vec::new());
        let work = {
            let (running, most) = (running.clone(), most.clone());
            move |job: u32, progress: Progress<u32, u32, u32>| {
                let (running, most) = (running.clone(), most.clone());
                async move {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    progress.report(job * 10);
                    running.fetch_sub(1, Ordering::SeqCst);
                    match job {
                        2 => panic!("la tâche {job} a cassé"),
                        3 => Err(Failure::from(format!("la tâche {job} a échoué"))),
                        _ => Ok(job * 100),
                    }
                }
            }
        };
        let mut ended: Vec<(u32, Result<u32, String>)> =
            run_each(vec![1, 2, 3, 4, 5], 2, work, |job, report| {
                reported.lock().unwrap().push((job, report));
            })
            .map(|(job, outcome)| (job, outcome.map_err(|e| e.to_string())))
            .collect()
            .await;
        ended.sort_by_key(|(job, _)| *job);
        assert_eq!(
            ended,
            vec![
                (1, Ok(100)),
                (
                    2,
                    Err("la tâche s'est interrompue : la tâche 2 a cassé".to_owned())
                ),
                (3, Err("la tâche 3 a échoué".to_owned())),
                (4, Ok(400)),
                (5, Ok(500)),
            ]
        );
        assert_eq!(most.load(Ordering::SeqCst), 2, "two at a time, no more");
        let mut reported = reported.into_inner().unwrap();
        reported.sort();
        assert_eq!(reported, vec![(1, 10), (2, 20), (3, 30), (4, 40), (5, 50)]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn dropping_the_stream_stops_the_jobs_under_way_and_starts_no_other() {
        /// Counts the jobs whose future was dropped before it ended (aborted).
        struct Stopped(Arc<AtomicUsize>);
        impl Drop for Stopped {
            fn drop(&mut self) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let (started, stopped) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let work = {
            let (started, stopped) = (started.clone(), stopped.clone());
            move |job: u32, _: Progress<u32, (), u32>| {
                let (started, stopped) = (started.clone(), stopped.clone());
                async move {
                    started.fetch_add(1, Ordering::SeqCst);
                    if job > 1 {
                        let guard = Stopped(stopped);
                        tokio::time::sleep(Duration::from_secs(3600)).await;
                        std::mem::forget(guard);
                    }
                    Ok::<u32, Failure>(job)
                }
            }
        };
        let mut stream = Box::pin(run_each(vec![1, 2, 3, 4], 2, work, |_, _| {}));
        assert_eq!(stream.next().await.map(|(job, _)| job), Some(1));
        let until = |counter: Arc<AtomicUsize>, n: usize| async move {
            tokio::time::timeout(Duration::from_secs(5), async {
                while counter.load(Ordering::SeqCst) < n {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            })
            .await
        };
        until(started.clone(), 3)
            .await
            .expect("the job after the first starts in its slot");
        drop(stream);
        until(stopped.clone(), 2)
            .await
            .expect("both jobs under way are aborted");
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(
            started.load(Ordering::SeqCst),
            3,
            "no job starts once dropped"
        );
    }
}
