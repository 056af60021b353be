// Package tail follows log files as promtail does, without one goroutine per file: a Manager
// polls every watched file each round (global.file_watch_config poll frequency) on a small,
// fixed pool of workers, so thousands of files cost only their open descriptors.
//
// For each file the Manager:
//   - starts at the position saved in the positions file, or at 0 for a file it has never
//     seen (new files are read from the start);
//   - reads complete lines (a trailing partial line waits for its newline, unless the file is
//     gone) and hands each to the file's Sink with an ack.Ack registered on the file's Tracker;
//   - detects rotation by rename (the path names another inode: the old file is read to its
//     end first, then the new one from 0) and by copytruncate (the size fell below the read
//     offset: read again from 0);
//   - reads a deleted file to its end, then closes it and forgets its position once every line
//     was acknowledged;
//   - saves, as the file's position, the offset up to which every line was acknowledged.
//
// A Sink that blocks (the clients are retrying) stalls its worker, and with it reading: that
// is the back-pressure that keeps memory bounded.
package tail
