//! Frames from a few bytes up to most of the ring, crossing the ring's end over and
//! over, arrive bit-exact and in order — with the ring large enough for huge-page
//! backing (no mirror mapping: every slot is read through its own start) and frames
//! large enough for the streaming-store copy.

use std::thread;

use streamq::{QueueConfig, queue};

/// Large enough for huge pages and for streaming-store copies (rings of 32 MiB and more).
const CAP: usize = 32 << 20;

/// Frame `seq`'s length and content are derived from `seq`, so the consumer can check.
fn frame_len(seq: u64) -> usize {
    // A mix of tiny, page-ish, just-under / over the streaming threshold, and multi-MiB.
    const LENS: [usize; 9] = [
        1,
        63,
        4096,
        255 * 1024,
        256 * 1024,
        256 * 1024 + 17,
        900 * 1024,
        3 << 20,
        5 * 1024 * 1024 + 3,
    ];
    LENS[(seq.wrapping_mul(7) % LENS.len() as u64) as usize]
}

fn fill(seq: u64, buf: &mut [u8]) {
    let mut x = seq.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    for chunk in buf.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        chunk.copy_from_slice(&x.to_le_bytes()[..chunk.len()]);
    }
}

#[test]
fn large_and_small_frames_wrap_the_ring_and_arrive_exact_and_in_order() {
    let (mut tx, mut rx) = queue(QueueConfig::new(CAP)).unwrap();
    const N: u64 = 300;
    let consumer = thread::spawn(move || {
        let mut expect = vec![0u8; 6 << 20];
        let mut next = 0u64;
        while let Ok(frame) = rx.pop() {
            assert_eq!(frame.info.seq, next, "order");
            let len = frame_len(next);
            fill(next, &mut expect[..len]);
            assert_eq!(frame.data.len(), len, "length of frame {next}");
            assert!(frame.data == expect[..len], "content of frame {next}");
            next += 1;
        }
        next
    });
    let mut buf = vec![0u8; 6 << 20];
    for seq in 0..N {
        let len = frame_len(seq);
        if seq % 3 == 0 {
            // Through a reservation (the zero-copy path) as well as by copy.
            let mut slot = tx.reserve(len).unwrap();
            fill(seq, &mut slot);
            slot.commit();
        } else {
            fill(seq, &mut buf[..len]);
            let _ = tx.push(&buf[..len]).unwrap();
        }
    }
    drop(tx);
    assert_eq!(consumer.join().unwrap(), N, "every frame arrived");
}
