//! std_threads: Rust's `std::thread` and `std::sync` as a program uses them, with an
//! output that no schedule can change (values are joined, summed or sorted before
//! they are printed). Compared with the Linux host by cli/tests/threads.rs. The last
//! act is `process::exit(3)` from a thread while the main thread waits: the status
//! is 3.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Barrier, Condvar, Mutex, RwLock};
use std::thread;
use std::time::Duration;

fn spawn_and_join() {
    let handles: Vec<_> = (0..8u64).map(|i| thread::spawn(move || (1..=1000 * (i + 1)).sum::<u64>())).collect();
    let sums: Vec<u64> = handles.into_iter().map(|h| h.join().expect("no panic")).collect();
    println!("spawn/join: the threads' sums {sums:?}");
    let main_id = thread::current().id();
    let other_id = thread::spawn(|| thread::current().id()).join().unwrap();
    println!("a thread's ThreadId differs from main's: {}", main_id != other_id);
}

fn scoped() {
    let numbers: Vec<u64> = (1..=100_000).collect();
    let mut partial = [0u64; 4];
    thread::scope(|s| {
        for (chunk, out) in numbers.chunks(numbers.len() / 4).zip(partial.iter_mut()) {
            s.spawn(move || *out = chunk.iter().sum());
        }
    });
    println!("thread::scope: 4 threads summed borrowed chunks to {partial:?}, total {}", partial.iter().sum::<u64>());
}

fn mutex_and_atomics() {
    let counter = Arc::new(Mutex::new(0u64));
    let atomic = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let (counter, atomic) = (Arc::clone(&counter), Arc::clone(&atomic));
            thread::spawn(move || {
                for _ in 0..5000 {
                    *counter.lock().unwrap() += 1;
                    atomic.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    println!(
        "Mutex: 8 threads x 5000 increments: {}; AtomicUsize: {}; Arc strong count back to {}",
        *counter.lock().unwrap(),
        atomic.load(Ordering::SeqCst),
        Arc::strong_count(&counter)
    );
}

fn condvar_queue() {
    // A bounded queue of 3 between 2 producers and 2 consumers, by Mutex + 2 Condvars.
    struct Queue {
        items: Mutex<(Vec<i64>, usize)>,
        not_empty: Condvar,
        not_full: Condvar,
    }
    let queue =
        Arc::new(Queue { items: Mutex::new((Vec::new(), 0)), not_empty: Condvar::new(), not_full: Condvar::new() });
    let push = |q: &Queue, item: i64| {
        let mut guard = q.not_full.wait_while(q.items.lock().unwrap(), |(items, _)| items.len() == 3).unwrap();
        guard.0.push(item);
        q.not_empty.notify_one();
    };
    let consumers: Vec<_> = (0..2)
        .map(|_| {
            let q = Arc::clone(&queue);
            thread::spawn(move || {
                let (mut count, mut sum) = (0u64, 0i64);
                loop {
                    let mut guard =
                        q.not_empty.wait_while(q.items.lock().unwrap(), |(items, _)| items.is_empty()).unwrap();
                    let item = guard.0.remove(0);
                    guard.1 += 1;
                    q.not_full.notify_one();
                    drop(guard);
                    if item < 0 {
                        return (count, sum);
                    }
                    count += 1;
                    sum += item;
                }
            })
        })
        .collect();
    let producers: Vec<_> = (0..2)
        .map(|p| {
            let q = Arc::clone(&queue);
            thread::spawn(move || {
                for i in 1..=1000 {
                    push(&q, p * 10_000 + i);
                }
            })
        })
        .collect();
    for h in producers {
        h.join().unwrap();
    }
    push(&queue, -1);
    push(&queue, -1);
    let (count, sum) =
        consumers.into_iter().map(|h| h.join().unwrap()).fold((0, 0), |(c, s), (c2, s2)| (c + c2, s + s2));
    println!("Condvar queue: {count} items, their sum {sum}, {} taken in all", queue.items.lock().unwrap().1);
}

fn channels() {
    let (tx, rx) = mpsc::channel();
    for id in 0..4u32 {
        let tx = tx.clone();
        thread::spawn(move || {
            for i in 0..250u32 {
                tx.send((id, i)).unwrap();
            }
        });
    }
    drop(tx);
    let mut per_sender = BTreeMap::new();
    for (id, i) in rx {
        let entry: &mut (u32, u32) = per_sender.entry(id).or_default();
        // Each sender's messages arrive in its order.
        assert_eq!(entry.0, i, "sender {id}'s messages out of order");
        entry.0 += 1;
        entry.1 += i;
    }
    println!("mpsc: 4 senders, received per sender (count, sum): {:?}", per_sender.values().collect::<Vec<_>>());

    let (tx, rx) = mpsc::sync_channel::<u64>(2);
    let producer = thread::spawn(move || (0..500).map(|i| tx.send(i).is_ok()).filter(|ok| *ok).count());
    let received: u64 = rx.iter().sum();
    println!("sync_channel(2): {} sent, their sum received {received}", producer.join().unwrap());
}

fn names_barrier_rwlock_park() {
    let name = thread::Builder::new()
        .name("worker-7".into())
        .spawn(|| thread::current().name().map(str::to_string))
        .unwrap()
        .join()
        .unwrap();
    println!("thread::Builder::name: {name:?}; main's name: {:?}", thread::current().name());

    let barrier = Arc::new(Barrier::new(5));
    let waiters: Vec<_> = (0..5)
        .map(|_| {
            let b = Arc::clone(&barrier);
            thread::spawn(move || b.wait().is_leader())
        })
        .collect();
    let leaders = waiters.into_iter().map(|h| h.join().unwrap()).filter(|leader| *leader).count();
    println!("Barrier of 5: {leaders} leader");

    let table = Arc::new(RwLock::new(vec![0u32; 4]));
    let writers: Vec<_> = (0..4)
        .map(|i| {
            let t = Arc::clone(&table);
            thread::spawn(move || {
                for _ in 0..1000 {
                    t.write().unwrap()[i] += 1;
                    let _ = t.read().unwrap().iter().sum::<u32>();
                }
            })
        })
        .collect();
    for h in writers {
        h.join().unwrap();
    }
    println!("RwLock: {:?}", table.read().unwrap());

    let parked = thread::spawn(|| {
        thread::park_timeout(Duration::from_secs(30));
        "unparked"
    });
    thread::sleep(Duration::from_millis(20));
    parked.thread().unpark();
    println!("park/unpark: {}", parked.join().unwrap());

    thread_local!(static MINE: std::cell::Cell<u32> = const { std::cell::Cell::new(0) });
    MINE.with(|m| m.set(1));
    let theirs = thread::spawn(|| MINE.with(|m| m.replace(2))).join().unwrap();
    println!("thread_local!: a new thread starts with {theirs}; main's still {}", MINE.with(|m| m.get()));
    println!("available_parallelism at least 1: {}", thread::available_parallelism().is_ok_and(|n| n.get() >= 1));
}

fn panicking_thread() {
    let result = thread::Builder::new().name("doomed".into()).spawn(|| -> u32 { panic!("on purpose") }).unwrap().join();
    let message = result.as_ref().err().and_then(|payload| payload.downcast_ref::<&str>()).copied();
    println!("a thread that panics: join is Err: {}, with the payload {message:?}", result.is_err());
    let poisoned = Arc::new(Mutex::new(1));
    let p = Arc::clone(&poisoned);
    let _ = thread::spawn(move || {
        let _guard = p.lock().unwrap();
        panic!("while holding the lock");
    })
    .join();
    println!("the Mutex it held is poisoned: {}", poisoned.is_poisoned());
}

fn main() {
    spawn_and_join();
    scoped();
    mutex_and_atomics();
    condvar_queue();
    channels();
    names_barrier_rwlock_park();
    panicking_thread();
    println!("exiting with 3 from a thread");
    let exiter = thread::spawn(|| std::process::exit(3));
    exiter.join().unwrap();
    unreachable!("process::exit in a thread ends the process");
}
