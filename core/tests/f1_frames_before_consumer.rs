//! F1: frames pushed before any consumer reads are kept, in order. A queue starts
//! "paused", never "flowing".

use streamq::{QueueConfig, queue};

#[test]
fn f1_frames_pushed_before_the_consumer_attaches_are_all_kept_in_order() {
    let (mut tx, rx) = queue(QueueConfig::new(1 << 20)).unwrap();
    // The producer runs first, on its own thread, and finishes before anyone reads.
    let producer = std::thread::spawn(move || {
        for i in 0..1000u32 {
            tx.push(&i.to_le_bytes()).unwrap().seq();
        }
    });
    producer.join().unwrap();
    // Only now does a consumer start reading.
    let consumer = std::thread::spawn(move || {
        rx.map(|f| u32::from_le_bytes(f.data.try_into().unwrap()))
            .collect::<Vec<_>>()
    });
    let got = consumer.join().unwrap();
    assert_eq!(got, (0..1000).collect::<Vec<_>>());
}
