// Saga: book a trip as a flight, a hotel and a car. If a later booking fails, undo the earlier
// ones in reverse order (compensation) with an ordinary try/catch. A failed activity surfaces in
// the orchestration as a thrown ActivityFailedError carrying the activity's error message.
//
// This example books two trips: one where everything succeeds, one where no car is available.
//
//   npm run build && node dist/examples/saga.js
import { pathToFileURL } from "node:url";
import { Runtime, type OrchestrationContext, type ActivityContext } from "../src/index.js";
import { openStore, printer, runtimeOptions, sleep, type ExampleOptions } from "./support.js";

interface Trip {
  tripId: string;
  traveller: string;
  city: string;
  /** Pretend the car rental company is sold out. */
  carsSoldOut?: boolean;
}
export interface TripResult {
  tripId: string;
  booked: boolean;
  confirmations: string[];
  error?: string;
  /** Compensations that ran, in the order they ran. */
  compensated: string[];
}

// Bookings are keyed by trip id, so a retried booking or cancellation does not double-book or
// fail: the kind of idempotency real booking APIs offer through client-supplied reference ids.
const reservations = new Map<string, string>();

function book(kind: string) {
  return async (_ctx: ActivityContext, trip: Trip): Promise<string> => {
    await sleep(15);
    if (kind === "car" && trip.carsSoldOut) throw new Error(`no cars available in ${trip.city}`);
    const key = `${kind}:${trip.tripId}`;
    const existing = reservations.get(key);
    if (existing) return existing;
    const confirmation = `${kind.toUpperCase()}-${trip.tripId}`;
    reservations.set(key, confirmation);
    return confirmation;
  };
}
function cancel(kind: string) {
  return async (_ctx: ActivityContext, confirmation: string): Promise<string> => {
    await sleep(15);
    reservations.delete(`${kind}:${confirmation.slice(kind.length + 1)}`); // deleting twice is harmless
    return `cancelled ${confirmation}`;
  };
}

async function bookTrip(ctx: OrchestrationContext, trip: Trip): Promise<TripResult> {
  // Each entry undoes one completed step; we run them newest first if something fails.
  const compensations: { activity: string; input: string }[] = [];
  const confirmations: string[] = [];
  try {
    const flight = await ctx.scheduleActivity<string>("BookFlight", trip);
    confirmations.push(flight);
    compensations.push({ activity: "CancelFlight", input: flight });

    const hotel = await ctx.scheduleActivity<string>("BookHotel", trip);
    confirmations.push(hotel);
    compensations.push({ activity: "CancelHotel", input: hotel });

    const car = await ctx.scheduleActivity<string>("BookCar", trip);
    confirmations.push(car);
    compensations.push({ activity: "CancelCar", input: car });

    return { tripId: trip.tripId, booked: true, confirmations, compensated: [] };
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err);
    ctx.traceWarn(`trip ${trip.tripId} failed (${error}); compensating ${compensations.length} step(s)`);
    const compensated: string[] = [];
    for (const c of [...compensations].reverse()) {
      await ctx.scheduleActivity(c.activity, c.input);
      compensated.push(c.activity);
    }
    return { tripId: trip.tripId, booked: false, confirmations: [], error, compensated };
  }
}

export interface SagaResult {
  success: TripResult;
  compensated: TripResult;
}

export async function main(opts: ExampleOptions = {}): Promise<SagaResult> {
  const say = printer(opts.quiet);
  const provider = await openStore(opts.storeUrl);
  const runtime = new Runtime(provider, runtimeOptions(say, opts.quiet));
  for (const kind of ["flight", "hotel", "car"]) {
    const Kind = kind[0]!.toUpperCase() + kind.slice(1);
    runtime.registerActivity(`Book${Kind}`, book(kind));
    runtime.registerActivity(`Cancel${Kind}`, cancel(kind));
  }
  runtime.registerOrchestration("BookTrip", bookTrip);
  await runtime.start();
  const client = runtime.client;
  try {
    const run = Date.now();
    const show = (r: TripResult): void => {
      if (r.booked) say(`  booked: ${r.confirmations.join(", ")}`);
      else say(`  not booked: ${r.error}; compensated in order: ${r.compensated.join(" → ")}`);
    };

    say("trip T1 to Lisbon (everything available)");
    await client.startOrchestration(`trip-T1-${run}`, "BookTrip", { tripId: "T1", traveller: "dan", city: "Lisbon" });
    const success = await client.waitForOrchestrationTyped<TripResult>(`trip-T1-${run}`, 10_000);
    show(success);

    say("trip T2 to Oslo (the car rental is sold out)");
    await client.startOrchestration(`trip-T2-${run}`, "BookTrip", { tripId: "T2", traveller: "eve", city: "Oslo", carsSoldOut: true });
    const compensated = await client.waitForOrchestrationTyped<TripResult>(`trip-T2-${run}`, 10_000);
    show(compensated);

    return { success, compensated };
  } finally {
    await runtime.shutdown();
    await provider.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
