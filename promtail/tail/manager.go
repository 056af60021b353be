package tail

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicelog/sluice/promtail/positions"
)

// Config tunes the poller.
type Config struct {
	// PollInterval is the pause between rounds when no file had more to read.
	PollInterval time.Duration
	// Workers is how many files are read at once.
	Workers int
	// ReadLimit is how many bytes one file may read per round before others get their turn.
	ReadLimit int
}

// Manager polls the watched files; see the package documentation.
type Manager struct {
	cfg     Config
	log     *slog.Logger
	pos     *positions.Positions
	clients int
	metrics *Metrics

	mu      sync.Mutex
	known   map[string]bool // paths added and not retired nor removed
	adds    map[string]func() Sink
	removes map[string]bool
	wake    chan struct{}

	files map[string]*file // owned by Run's goroutine
}

// NewManager builds a Manager saving positions in pos. clients is the number of destinations
// that each acknowledge every line.
func NewManager(cfg Config, pos *positions.Positions, clients int, m *Metrics, log *slog.Logger) *Manager {
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 250 * time.Millisecond
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 4
	}
	if cfg.ReadLimit <= 0 {
		cfg.ReadLimit = 1 << 20
	}
	if m == nil {
		m = NewMetrics(nil)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Manager{cfg: cfg, log: log, pos: pos, clients: clients, metrics: m,
		known: map[string]bool{}, adds: map[string]func() Sink{}, removes: map[string]bool{}, files: map[string]*file{}, wake: make(chan struct{}, 1)}
}

// Add makes sure path is watched; newSink is called only when it was not. Callers may Add
// every path they want watched on every sync: a file that disappeared and came back is then
// picked up again.
func (m *Manager) Add(path string, newSink func() Sink) {
	m.mu.Lock()
	if m.known[path] {
		m.mu.Unlock()
		return
	}
	m.known[path] = true
	delete(m.removes, path)
	m.adds[path] = newSink
	m.mu.Unlock()
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// Remove stops watching path once what it holds now is read and acknowledged; its position
// is kept.
func (m *Manager) Remove(path string) {
	m.mu.Lock()
	delete(m.adds, path)
	delete(m.known, path)
	m.removes[path] = true
	m.mu.Unlock()
}

// Run polls until ctx ends. Afterwards call Close (after the clients have flushed) to save
// the final positions.
func (m *Manager) Run(ctx context.Context) {
	buf := make([][]byte, m.cfg.Workers)
	for i := range buf {
		buf[i] = make([]byte, 64<<10)
	}
	for ctx.Err() == nil {
		m.apply()
		more := m.round(ctx, buf)
		if more {
			continue
		}
		select {
		case <-ctx.Done():
		case <-m.wake:
		case <-time.After(m.cfg.PollInterval):
		}
	}
}

// apply takes in the pending Add and Remove calls; it runs between rounds.
func (m *Manager) apply() {
	m.mu.Lock()
	adds, removes := m.adds, m.removes
	m.adds, m.removes = map[string]func() Sink{}, map[string]bool{}
	m.mu.Unlock()
	for path := range removes {
		if fl, ok := m.files[path]; ok {
			fl.removed = true
		}
	}
	for path, newSink := range adds {
		if fl, ok := m.files[path]; ok {
			// Re-added before it was retired: keep reading it.
			fl.removed = false
			continue
		}
		m.files[path] = &file{path: path, sink: newSink()}
	}
}

// round polls every file once on the worker pool and reports whether any had more to read.
func (m *Manager) round(ctx context.Context, buf [][]byte) bool {
	work := make(chan *file)
	var more atomic.Bool
	var wg sync.WaitGroup
	for w := 0; w < m.cfg.Workers; w++ {
		wg.Add(1)
		go func(buf []byte) {
			defer wg.Done()
			for fl := range work {
				mo, err := m.poll(ctx, fl, buf)
				if err != nil {
					if !errors.Is(err, errStalled) {
						m.log.Warn("tail file", "path", fl.path, "err", err)
					}
					continue
				}
				if mo {
					more.Store(true)
				}
			}
		}(buf[w])
	}
	for _, fl := range m.files {
		if ctx.Err() != nil {
			break
		}
		work <- fl
	}
	close(work)
	wg.Wait()
	for path, fl := range m.files {
		if fl.finished() {
			m.commit(fl)
			m.close(fl)
			delete(m.files, path)
			m.mu.Lock()
			if _, readded := m.adds[path]; !readded {
				delete(m.known, path)
			}
			m.mu.Unlock()
		}
	}
	return more.Load() && ctx.Err() == nil
}

// Close saves the acknowledged position of every file and closes them. Call it after Run
// returned and the clients have flushed.
func (m *Manager) Close() {
	for path, fl := range m.files {
		m.commit(fl)
		m.close(fl)
		delete(m.files, path)
	}
}

// Len returns the number of watched files (for tests and metrics); call it only between
// Run and Close or after Close.
func (m *Manager) Len() int { return len(m.files) }
