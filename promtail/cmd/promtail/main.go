// Command promtail is Sluice's node agent: a drop-in replacement for Grafana's promtail that
// tails log files (Kubernetes pod logs included), runs pipeline stages and pushes to Sluice or
// Loki. It reads promtail's YAML config file unchanged.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/sluicelog/sluice/promtail/agent"
	"github.com/sluicelog/sluice/promtail/config"
)

func main() {
	fs := flag.NewFlagSet("promtail", flag.ExitOnError)
	configFile := fs.String("config.file", "config.yaml", "yaml file to load")
	expandEnv := fs.Bool("config.expand-env", false, "Expands ${var} in config according to the values of the environment variables.")
	dryRun := fs.Bool("dry-run", false, "Start Promtail but print entries instead of sending them to Loki.")
	printCfg := fs.Bool("print-config-stderr", false, "Dump the entire config object to stderr.")
	checkSyntax := fs.Bool("check-syntax", false, "Validate the config file of its syntax")
	logLevel := fs.String("log.level", "", "Only log messages with the given severity or above: debug, info, warn, error.")
	clientURL := fs.String("client.url", "", "URL of log server (adds a client).")
	tenant := fs.String("client.tenant-id", "", "Tenant ID to use when pushing logs to Loki (with -client.url).")
	positionsFile := fs.String("positions.file", "", "Location to read/write positions from (overrides the config).")
	port := fs.Int("server.http-listen-port", 0, "HTTP server listen port (overrides the config).")
	_ = fs.Parse(os.Args[1:])

	cfg, err := config.Load(*configFile, *expandEnv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "error loading config:", err)
		os.Exit(1)
	}
	if *checkSyntax {
		fmt.Fprintln(os.Stderr, "Valid config file! No syntax issues found")
		return
	}
	if *clientURL != "" {
		c := config.ClientConfig{URL: *clientURL, TenantID: *tenant}
		cfg.Clients = append(cfg.Clients, c)
		cfg.ApplyDefaults()
	}
	if *positionsFile != "" {
		cfg.Positions.Filename = *positionsFile
	}
	if *port != 0 {
		cfg.Server.HTTPListenPort = *port
	}
	if *printCfg {
		fmt.Fprint(os.Stderr, cfg.String())
	}
	level := cfg.Server.LogLevel
	if *logLevel != "" {
		level = *logLevel
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(strings.ToUpper(orDefault(level, "info")))); err != nil {
		lv = slog.LevelInfo
	}
	var h slog.Handler = slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lv})
	if cfg.Server.LogFormat == "json" {
		h = slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: lv})
	}
	log := slog.New(h)

	a, err := agent.New(cfg, agent.Options{DryRun: *dryRun, Stdout: os.Stdout}, log)
	if err != nil {
		log.Error("start promtail", "err", err)
		os.Exit(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := a.Run(ctx); err != nil {
		log.Error("promtail stopped", "err", err)
		os.Exit(1)
	}
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
