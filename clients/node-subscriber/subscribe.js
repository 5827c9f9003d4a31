// Subscribe to the exchange's public streams on Redis pub/sub and print each event.
//
//   REDIS_URL=redis://127.0.0.1:6379 node subscribe.js trade.SOL_USDC ticker.SOL_USDC
//
// Channels are named like the websocket streams (trade.<sym>, depth.<sym>, depth.200ms.<sym>,
// depth.1000ms.<sym>, ticker.<sym>, bookTicker.<sym>, kline.<interval>.<sym>); a pattern such
// as 'trade.*' subscribes with PSUBSCRIBE. Each message is the websocket frame's `data` object
// as plain JSON. Output: one JSON line {"ready": [...]} once subscribed, then one line
// {"channel": ..., "data": {...}} per event. With --count N it exits after N events.
'use strict';

const { createClient } = require('redis');

function parseArgs(argv) {
  const channels = [];
  let count = Infinity;
  for (let i = 0; i < argv.length; i += 1) {
    if (argv[i] === '--count') {
      count = Number(argv[i + 1]);
      i += 1;
    } else {
      channels.push(argv[i]);
    }
  }
  return { channels, count };
}

async function main() {
  const { channels, count } = parseArgs(process.argv.slice(2));
  if (channels.length === 0) {
    console.error('usage: node subscribe.js [--count N] <channel or pattern>...');
    process.exit(2);
  }
  const client = createClient({ url: process.env.REDIS_URL || 'redis://127.0.0.1:6379' });
  client.on('error', (err) => {
    console.error(`redis error: ${err.message}`);
    process.exit(1);
  });
  await client.connect();

  let seen = 0;
  const print = async (message, channel) => {
    console.log(JSON.stringify({ channel, data: JSON.parse(message) }));
    seen += 1;
    if (seen >= count) {
      await client.quit();
      process.exit(0);
    }
  };
  const exact = channels.filter((c) => !c.includes('*'));
  const patterns = channels.filter((c) => c.includes('*'));
  if (exact.length) await client.subscribe(exact, print);
  if (patterns.length) await client.pSubscribe(patterns, print);
  console.log(JSON.stringify({ ready: channels }));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
