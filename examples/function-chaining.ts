// Function chaining: run steps in sequence, each one's output feeding the next.
// Written in the generator form (`function*` + `yield`), the duroxide-node compatible style:
// `yield task` works exactly like `await task` in an async orchestration.
//
//   npm run build && node dist/examples/function-chaining.js
import { pathToFileURL } from "node:url";
import { Runtime, type OrchestrationContext, type ActivityContext } from "../src/index.js";
import { openStore, printer, runtimeOptions, sleep, type ExampleOptions } from "./support.js";

interface Order {
  orderId: string;
  customer: string;
  items: { sku: string; qty: number; price: number }[];
}
interface ValidatedOrder extends Order {
  total: number;
}
interface Payment {
  orderId: string;
  paymentId: string;
  amount: number;
}
interface Shipment {
  orderId: string;
  trackingNumber: string;
}

export interface ChainResult {
  orderId: string;
  total: number;
  paymentId: string;
  trackingNumber: string;
  confirmation: string;
}

// ---------------------------------------------------------------- activities
// Activities may run more than once (e.g. after a crash mid-activity), so each is written to be
// idempotent: effects are keyed by the order id, the way a real payment or shipping API takes an
// idempotency key.

const payments = new Map<string, Payment>(); // stands in for the payment provider
const shipments = new Map<string, Shipment>(); // stands in for the carrier

async function validateOrder(_ctx: ActivityContext, order: Order): Promise<ValidatedOrder> {
  await sleep(10);
  if (order.items.length === 0) throw new Error(`order ${order.orderId} has no items`);
  const total = order.items.reduce((sum, i) => sum + i.qty * i.price, 0);
  return { ...order, total: Math.round(total * 100) / 100 };
}

async function chargePayment(_ctx: ActivityContext, order: ValidatedOrder): Promise<Payment> {
  await sleep(10);
  const existing = payments.get(order.orderId); // idempotency key: the order id
  if (existing) return existing;
  const payment = { orderId: order.orderId, paymentId: `pay_${order.orderId}`, amount: order.total };
  payments.set(order.orderId, payment);
  return payment;
}

async function shipOrder(_ctx: ActivityContext, payment: Payment): Promise<Shipment> {
  await sleep(10);
  const existing = shipments.get(payment.orderId);
  if (existing) return existing;
  const shipment = { orderId: payment.orderId, trackingNumber: `TRK-${payment.orderId.toUpperCase()}` };
  shipments.set(payment.orderId, shipment);
  return shipment;
}

async function sendConfirmation(_ctx: ActivityContext, s: { customer: string; shipment: Shipment }): Promise<string> {
  await sleep(10);
  return `Dear ${s.customer}, order ${s.shipment.orderId} is on its way (tracking ${s.shipment.trackingNumber}).`;
}

// ---------------------------------------------------------------- orchestration

function* processOrder(ctx: OrchestrationContext, order: Order): Generator<unknown, ChainResult, any> {
  ctx.traceInfo(`processing order ${order.orderId}`);
  const validated = (yield ctx.scheduleActivity("ValidateOrder", order)) as ValidatedOrder;
  ctx.traceInfo(`validated: total ${validated.total}`);
  const payment = (yield ctx.scheduleActivity("ChargePayment", validated)) as Payment;
  ctx.traceInfo(`charged: ${payment.paymentId}`);
  const shipment = (yield ctx.scheduleActivity("ShipOrder", payment)) as Shipment;
  ctx.traceInfo(`shipped: ${shipment.trackingNumber}`);
  const confirmation = (yield ctx.scheduleActivity("SendConfirmation", { customer: order.customer, shipment })) as string;
  return {
    orderId: order.orderId,
    total: validated.total,
    paymentId: payment.paymentId,
    trackingNumber: shipment.trackingNumber,
    confirmation,
  };
}

export async function main(opts: ExampleOptions = {}): Promise<ChainResult> {
  const say = printer(opts.quiet);
  const provider = await openStore(opts.storeUrl);
  const runtime = new Runtime(provider, runtimeOptions(say, opts.quiet));
  runtime.registerActivity("ValidateOrder", validateOrder);
  runtime.registerActivity("ChargePayment", chargePayment);
  runtime.registerActivity("ShipOrder", shipOrder);
  runtime.registerActivity("SendConfirmation", sendConfirmation);
  runtime.registerOrchestration("ProcessOrder", processOrder);
  await runtime.start();
  try {
    const order: Order = {
      orderId: "o-1001",
      customer: "Ada",
      items: [
        { sku: "BOOK-42", qty: 2, price: 12.5 },
        { sku: "MUG-7", qty: 1, price: 9.99 },
      ],
    };
    const instanceId = `order-${order.orderId}-${Date.now()}`;
    say(`starting ProcessOrder for ${order.orderId}`);
    await runtime.client.startOrchestration(instanceId, "ProcessOrder", order);
    // The typed helper returns the output itself and throws OrchestrationFailedError on failure.
    const result = await runtime.client.waitForOrchestrationTyped<ChainResult>(instanceId, 10_000);
    say(`result: ${result.confirmation}`);
    return result;
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
