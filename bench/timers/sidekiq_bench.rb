# frozen_string_literal: true

# Sidekiq's side of bench/timers (bench.py runs it next to Charter and
# BullMQ): jobs in Sidekiq's scheduled set ("schedule", score = the due
# instant), moved to the queue by the server's Scheduled::Poller and run by a
# no-op worker (sidekiq_worker.rb). Each job's args carry the same fields
# Charter's payload does.
#
#   ruby sidekiq_bench.rb --mode schedule|lateness|burst|fill --timers N
#        [--batch 0|B] [--threads T] [--redis-url URL] [--out FILE]
#        [--poll-interval S] ...
#
# schedule/fill: --batch 0 calls TimerWorker.perform_at once per timer from
# --threads client threads (Sidekiq's client is blocking: one round trip per
# job); --batch B uses Sidekiq::Client.push_bulk with an "at" array.
# lateness/burst: starts `sidekiq -r sidekiq_worker.rb` (its own process),
# waits until it is up and its poller has started, schedules with push_bulk,
# waits for the worker to have run every job, and stops the server by PID.
# Prints one JSON line; --time-limit-s bounds the run.
require "json"
require "securerandom"
require "timeout"
require_relative "sidekiq_worker"

DAY_MS = 86_400_000
KINDS = {
  1 => %w[breach],
  2 => %w[acknowledgement_due breach],
  3 => %w[acknowledgement_due warning_1 breach],
  4 => %w[acknowledgement_due warning_1 warning_2 breach]
}.freeze

opts = {
  mode: "schedule", timers: 100_000, per_case: 2, batch: 0, threads: 1,
  redis_url: "redis://127.0.0.1:6379/0", spread_ms: 10_000, lead_ms: 5_000,
  settle_ms: 6_000, concurrency: 10, poll_interval: "1", out: "", time_limit_s: 300
}
ARGV.each_slice(2) do |k, v|
  key = k.sub(/\A--/, "").tr("-", "_").to_sym
  raise ArgumentError, "unknown option #{k}" unless opts.key?(key)
  opts[key] = opts[key].is_a?(Integer) ? Integer(v) : v
end
ENV["BENCH_REDIS_URL"] = opts[:redis_url]
Sidekiq.configure_client do |config|
  config.redis = { url: opts[:redis_url], size: [opts[:threads], 1].max + 1 }
end

def wall_ms
  Process.clock_gettime(Process::CLOCK_REALTIME, :float_millisecond)
end

def mono_s
  Process.clock_gettime(Process::CLOCK_MONOTONIC)
end

def due_of(o, i, t0, base)
  case o[:mode]
  when "lateness" then t0 + (i * o[:spread_ms]) / o[:timers]
  when "burst" then t0
  else base + DAY_MS + i
  end
end

# The timers of case c: [[due_ms, data], ...].
def case_timers(o, c, t0, base)
  case_id = SecureRandom.uuid
  KINDS.fetch(o[:per_case]).each_with_index.filter_map do |kind, k|
    i = c * o[:per_case] + k
    next if i >= o[:timers]

    due = due_of(o, i, t0, base)
    [due, {
      "timer_id" => "#{case_id}/#{kind}", "case_id" => case_id,
      "organisation" => "derby-homes", "reference" => format("DH-%07d", c % 10_000_000),
      "channel" => "email", "case_type" => "enquiry", "kind" => kind,
      "tier" => kind.start_with?("warning_") ? Integer(kind[8..]) : 0,
      "due_ms" => due, "target_ms" => base + 10 * DAY_MS
    }]
  end
end

def schedule(o, t0, base)
  ncases = (o[:timers] + o[:per_case] - 1) / o[:per_case]
  done = 0
  lock = Mutex.new
  start = mono_s
  if o[:batch].zero?
    next_case = 0
    threads = Array.new([o[:threads], 1].max) do
      Thread.new do
        loop do
          c = lock.synchronize { next_case < ncases ? (next_case += 1) - 1 : nil }
          break unless c

          case_timers(o, c, t0, base).each do |due, data|
            TimerWorker.perform_at(due / 1000.0, data)
          end
          lock.synchronize { done += [o[:per_case], o[:timers] - c * o[:per_case]].min }
        end
      end
    end
    threads.each(&:join)
  else
    per_call = [o[:batch] / o[:per_case], 1].max
    (0...ncases).each_slice(per_call) do |cases|
      timers = cases.flat_map { |c| case_timers(o, c, t0, base) }
      Sidekiq::Client.push_bulk("class" => TimerWorker, "args" => timers.map { |_, d| [d] },
                                "at" => timers.map { |due, _| due / 1000.0 })
      done += timers.size
    end
  end
  seconds = mono_s - start
  { scheduled: done, schedule_seconds: seconds, timers_per_second: done / seconds }
end

def run_server(o)
  ready = "#{o[:out]}.ready"
  done_file = "#{o[:out]}.done"
  [ready, done_file].each { |f| File.delete(f) if File.exist?(f) }
  env = {
    "BENCH_REDIS_URL" => o[:redis_url], "BENCH_POLL_INTERVAL" => o[:poll_interval],
    "BENCH_EXPECT" => o[:timers].to_s, "BENCH_OUT" => o[:out], "BENCH_READY" => ready
  }
  pid = Process.spawn(env, "sidekiq", "-r", File.join(__dir__, "sidekiq_worker.rb"),
                      "-c", o[:concurrency].to_s, "-q", "default", "-t", "2",
                      "-e", "production", out: File::NULL, err: "#{o[:out]}.log")
  begin
    sleep 0.05 until File.exist?(ready)
    sleep o[:settle_ms] / 1000.0 # the poller's first run waits up to 5 s
    base = (wall_ms).floor
    t0 = base + o[:lead_ms]
    r = schedule(o, t0, base)
    sched_end = wall_ms
    sleep 0.02 until File.exist?(done_file)
    fired, dups = File.read(done_file).split.map { |x| Integer(x) }
    r.merge(t0_ms: t0, schedule_end_minus_t0_ms: sched_end - t0, fired: fired,
            duplicates: dups, concurrency: o[:concurrency],
            poll_interval_average_s: o[:poll_interval].empty? ? nil : Float(o[:poll_interval]))
  ensure
    stop_server(pid)
  end
end

def stop_server(pid)
  Process.kill("TERM", pid)
  Timeout.timeout(10) { Process.wait(pid) }
rescue Timeout::Error
  Process.kill("KILL", pid)
  Process.wait(pid)
rescue Errno::ESRCH, Errno::ECHILD
  nil
end

result = { peer: "sidekiq", mode: opts[:mode], ok: false, timers: opts[:timers], batch: opts[:batch],
           threads: opts[:threads] }
begin
  r = Timeout.timeout(opts[:time_limit_s]) do
    if %w[schedule fill].include?(opts[:mode])
      schedule(opts, 0, wall_ms.floor)
    else
      run_server(opts)
    end
  end
  ok = r[:scheduled] == opts[:timers] && (r[:fired].nil? || r[:fired] == opts[:timers])
  result.merge!(r).merge!(ok: ok, error: "")
rescue Timeout::Error
  result[:error] = "time limit reached"
rescue StandardError => e
  result[:error] = "#{e.class}: #{e.message}"
end
puts JSON.generate(result)
exit(result[:ok] ? 0 : 1)
