# frozen_string_literal: true

# Sidekiq's side of bench/timers, loaded by both the client (sidekiq_bench.rb)
# and the server process it starts (`sidekiq -r THIS_FILE`).
#
# Server settings come from the environment sidekiq_bench.rb passes:
#   BENCH_REDIS_URL      the benchmark's redis-server
#   BENCH_POLL_INTERVAL  Sidekiq.options[:poll_interval_average] in seconds
#                        (Sidekiq 6.4's default is unset: 5 s average per process)
#   BENCH_EXPECT, BENCH_OUT, BENCH_READY
# The job is a no-op handler that reads the wall clock on entry. When
# BENCH_EXPECT jobs have run, it writes "due_ms fired_ms" lines to BENCH_OUT
# and then creates BENCH_OUT.done.
require "sidekiq"

Sidekiq.configure_client do |config|
  config.redis = { url: ENV.fetch("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0") }
end

module BenchTimers
  LOCK = Mutex.new
  @due = []
  @fired = []
  @seen = {}
  @dups = 0

  class << self
    def record(data, now)
      LOCK.synchronize do
        if @seen.key?(data["timer_id"])
          @dups += 1
          return
        end
        @seen[data["timer_id"]] = true
        @due << data["due_ms"]
        @fired << now
        finish if @fired.size == Integer(ENV.fetch("BENCH_EXPECT", "0"))
      end
    end

    def finish
      out = ENV.fetch("BENCH_OUT")
      File.open(out, "w") do |f|
        @due.each_with_index { |d, i| f.write(format("%d %.3f\n", d, @fired[i])) }
      end
      File.write("#{out}.done", "#{@fired.size} #{@dups}\n")
    end
  end
end

class TimerWorker
  include Sidekiq::Worker

  def perform(data)
    BenchTimers.record(data, Process.clock_gettime(Process::CLOCK_REALTIME, :float_millisecond))
  end
end

if Sidekiq.server?
  Sidekiq.configure_server do |config|
    config.redis = { url: ENV.fetch("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0") }
    poll = ENV["BENCH_POLL_INTERVAL"]
    Sidekiq.options[:poll_interval_average] = Float(poll) if poll && !poll.empty?
    Sidekiq.logger.level = Logger::WARN # no per-job log lines, as for the other peers
    config.on(:startup) { File.write(ENV.fetch("BENCH_READY"), "#{Process.pid}\n") }
  end
end
