// v2s lab extension: the HTTP side (guest writes, NFC export routing, read throughput limit).
package simulator

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vmware/govmomi/vim25/types"
)

// v2sLimiter paces all limited reads together, like one link of Rate bytes/s (0: no limit).
type v2sLimiter struct {
	Rate float64
	mu   sync.Mutex
	next time.Time
}

func (l *v2sLimiter) wait(n int) {
	if l.Rate <= 0 {
		return
	}
	l.mu.Lock()
	now := time.Now()
	if l.next.Before(now) {
		l.next = now
	}
	l.next = l.next.Add(time.Duration(float64(n) / l.Rate * float64(time.Second)))
	d := l.next.Sub(now)
	l.mu.Unlock()
	time.Sleep(d)
}

type v2sLimitedWriter struct {
	w io.Writer
	l *v2sLimiter
}

func (lw v2sLimitedWriter) Write(p []byte) (int, error) {
	done := 0
	for done < len(p) {
		n := len(p) - done
		if n > 64<<10 {
			n = 64 << 10
		}
		lw.l.wait(n)
		m, err := lw.w.Write(p[done : done+n])
		done += m
		if err != nil {
			return done, err
		}
	}
	return done, nil
}

// Writer wraps w so that what goes through it is paced (w itself when there is no limit).
func (l *v2sLimiter) Writer(w io.Writer) io.Writer {
	if l.Rate <= 0 {
		return w
	}
	return v2sLimitedWriter{w: w, l: l}
}

type v2sLimitedResponse struct {
	http.ResponseWriter
	body io.Writer
}

func (r v2sLimitedResponse) Write(p []byte) (int, error) { return r.body.Write(p) }

// V2SHandler routes our NFC export URLs and paces datastore and NFC reads; the rest goes to next.
func V2SHandler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/nfc/") && v2sServeExport(w, r) {
			return
		}
		read := strings.HasPrefix(r.URL.Path, "/nfc/") || strings.HasPrefix(r.URL.Path, "/folder/")
		if read && r.Method == http.MethodGet && V2S.Limiter.Rate > 0 {
			w = v2sLimitedResponse{w, V2S.Limiter.Writer(w)}
		}
		next.ServeHTTP(w, r)
	})
}

// V2SServeWrite is the lab's guest-write endpoint:
// POST /v2s/write?vm=vm-42&disk=2000&offset=N with the bytes as body.
func V2SServeWrite(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	q := r.URL.Query()
	key, err1 := strconv.ParseInt(q.Get("disk"), 10, 32)
	off, err2 := strconv.ParseInt(q.Get("offset"), 10, 64)
	if err1 != nil || err2 != nil {
		http.Error(w, "need vm, disk (device key) and offset", http.StatusBadRequest)
		return
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, 256<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	vm, ok := Map.Get(types.ManagedObjectReference{Type: "VirtualMachine", Value: q.Get("vm")}).(*VirtualMachine)
	if !ok {
		http.Error(w, "no such vm "+q.Get("vm"), http.StatusNotFound)
		return
	}
	status, msg := http.StatusOK, ""
	Map.WithLock(vm, func() {
		if vm.Runtime.PowerState != types.VirtualMachinePowerStatePoweredOn {
			status, msg = http.StatusConflict, fmt.Sprintf("vm %s is %s: only a running guest writes", vm.Self.Value, vm.Runtime.PowerState)
			return
		}
		V2S.mu.Lock()
		defer V2S.mu.Unlock()
		d, err := V2S.disk(vm, int32(key))
		if err != nil {
			status, msg = http.StatusNotFound, err.Error()
			return
		}
		if err := d.write(data, off); err != nil {
			status, msg = http.StatusBadRequest, err.Error()
			return
		}
		d.recordWrite(off, int64(len(data)))
		V2S.publish(vm)
		msg = d.changeID()
	})
	if status != http.StatusOK {
		http.Error(w, msg, status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, "{\"change_id\": %q}\n", msg)
}
