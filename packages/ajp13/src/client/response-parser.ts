import { ResponseDecoder } from '../response-decoder.js';
import { decodeSendHeadersFlat } from '../send-headers.js';

/** Receives what a {@link ResponseParser} decodes, message by message, as it is decoded. @internal */
export interface ResponseSink {
  /** SEND_HEADERS; `headers` is a flat `[name, value, …]` list. */
  headers(status: number, reason: string | null, headers: string[]): void;
  /** Bytes of a SEND_BODY_CHUNK (a subarray of the socket data, not copied). */
  body(data: Buffer): void;
  /** A SEND_BODY_CHUNK of length 0 (flush). */
  flush(): void;
  /** END_RESPONSE; `trailing` when more bytes followed it in the same socket read. */
  end(reuse: boolean, trailing: boolean): void;
  /** GET_BODY_CHUNK. */
  getBody(requestedLength: number): void;
  /** CPONG_REPLY; `trailing` as for {@link ResponseSink.end}. */
  cpong(trailing: boolean): void;
}

/**
 * The client's response decoder: the checks of {@link ResponseDecoder}, but each message goes
 * straight to a {@link ResponseSink} (no event objects, flat header lists), and the connection can
 * stop the decoding of a read the moment its exchange is over.
 * @internal
 */
export class ResponseParser extends ResponseDecoder {
  /** Where messages go; swapped by the connection for each user. */
  sink: ResponseSink | null = null;

  /** Decodes one socket read, calling the sink; throws {@link AjpProtocolError} as `push` does. */
  feed(chunk: Buffer): void {
    this.consume(chunk);
  }

  /** Stops decoding the current read after the message being delivered. */
  stop(): void {
    this.halt();
  }

  protected override onData(data: Buffer): void {
    this.sink!.body(data);
  }

  protected override onSendHeaders(buf: Buffer, start: number, end: number): void {
    const r = decodeSendHeadersFlat(buf, start, end, this.strict);
    this.sink!.headers(r.status, r.reason, r.headers);
  }

  protected override onFlush(): void {
    this.sink!.flush();
  }

  protected override onEndResponse(reuse: boolean): void {
    this.sink!.end(reuse, this.tail > 0);
  }

  protected override onGetBodyChunk(requestedLength: number): void {
    this.sink!.getBody(requestedLength);
  }

  protected override onCpong(): void {
    this.sink!.cpong(this.tail > 0);
  }
}
