import type { HttpResponse } from "../load-uws.js";

/**
 * Behind the compat front every connection comes from 127.0.0.1 with a PROXY
 * header naming the client. This makes `res.getRemoteAddress*()` answer with
 * that client address, so routes (admission, per-address limits, the API's
 * loopback rule, logs) need not know about the front.
 */
export function takeProxiedAddress(res: HttpResponse): HttpResponse {
  const text = res.getProxiedRemoteAddressAsText();
  if (text.byteLength === 0) return res;
  const binary = res.getProxiedRemoteAddress();
  res.getRemoteAddressAsText = () => text;
  res.getRemoteAddress = () => binary;
  return res;
}
